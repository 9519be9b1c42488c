#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static int vfill(struct world_error *err, int code, bool with_errno,
		 const char *fmt, va_list ap)
{
	if (code <= 0)
		code = code < 0 ? -code : EIO;
	if (!err)
		return -code;
	err->code = code;
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s",
			 strerror(code));
	return -code;
}

int werr(struct world_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfill(err, code, false, fmt, ap);
	va_end(ap);
	return r;
}

int werr_errno(struct world_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfill(err, code, true, fmt, ap);
	va_end(ap);
	return r;
}

int werr_wrap(struct world_error *err, const char *fmt, ...)
{
	if (!err)
		return -EIO;
	char prefix[512], old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return -(err->code ? err->code : EIO);
}
