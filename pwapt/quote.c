/* Text of a world shown to a person (quote.h).  A path may hold any byte
 * but '/' and NUL, and a world is untrusted input: a file named with an
 * escape sequence would otherwise reach the administrator's terminal and
 * retitle it, move its cursor or rewrite a line already printed; a
 * right-to-left override would make one path read as another.  Quoting
 * follows git's quote_c_style(), the form administrators know from
 * `git status`, except that valid UTF-8 text stays readable. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pwapt.h"
#include "quote.h"

/* Length of the valid UTF-8 character at S (no overlong form, no
 * surrogate, at most U+10FFFF), its code point in *C; 0 for a byte that
 * starts no valid character. */
static size_t utf8_char(const unsigned char *s, uint32_t *c)
{
	size_t n;
	if (s[0] < 0x80) {
		*c = s[0];
		return 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		*c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		*c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		*c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at NUL */
			return 0;
		*c = *c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && *c < 0x800) || (n == 4 && *c < 0x10000) ||
	    *c > 0x10ffff || (*c >= 0xd800 && *c <= 0xdfff))
		return 0;
	return n;
}

/* Whether a terminal acts on code point C, or shows it as another text
 * than it is. */
static bool hidden(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c < 0xa0) || /* C0, DEL, C1 (CSI) */
	       (c >= 0x202a && c <= 0x202e) ||	     /* embeddings, overrides */
	       (c >= 0x2066 && c <= 0x2069) ||	     /* isolates */
	       c == 0x200e || c == 0x200f || c == 0x061c; /* marks */
}

/* Length of the character at S that may be shown as it is; 0: the byte at
 * S must be escaped. */
static size_t shown_len(const unsigned char *s)
{
	uint32_t c;
	size_t n = utf8_char(s, &c);
	return n && !hidden(c) ? n : 0;
}

static bool needs_quotes(const char *path)
{
	if (path[0] == '"')
		return true;
	for (const unsigned char *s = (const unsigned char *)path; *s;) {
		size_t n = shown_len(s);
		if (n == 0 || *s == '\\')
			return true;
		s += n;
	}
	return false;
}

/* One byte that is not shown as it is, as git writes it. */
static void put_escape(FILE *f, unsigned char c)
{
	static const char letters[] = "\aa\bb\tt\nn\vv\ff\rr\"\"\\\\";
	for (const char *l = letters; *l; l += 2)
		if ((unsigned char)l[0] == c) {
			fputc('\\', f);
			fputc(l[1], f);
			return;
		}
	fprintf(f, "\\%03o", c);
}

/* TEXT with every byte that is not shown escaped.  QUOTES: inside the
 * quotes of a quoted path, where '"', '\\', newlines and tabs are escaped
 * too; else newlines and tabs stay (a message's lines). */
static void put_escaped(FILE *f, const char *text, bool quotes)
{
	for (const unsigned char *s = (const unsigned char *)text; *s;) {
		if (!quotes && (*s == '\n' || *s == '\t')) {
			fputc(*s++, f);
			continue;
		}
		size_t n = shown_len(s);
		if (n == 0 || (quotes && (*s == '"' || *s == '\\'))) {
			put_escape(f, *s++);
			continue;
		}
		fwrite(s, 1, n, f);
		s += n;
	}
}

void put_path(FILE *f, const char *path)
{
	if (!needs_quotes(path)) {
		fputs(path, f);
		return;
	}
	fputc('"', f);
	put_escaped(f, path, true);
	fputc('"', f);
}

char *quote_path(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	put_path(f, path);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void put_text(FILE *f, const char *text)
{
	put_escaped(f, text, false);
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		uint32_t c;
		size_t n = utf8_char(p, &c);
		if (n == 0) {
			/* Not UTF-8: the byte as a lone low surrogate, as
			 * Python's surrogateescape reads it back (PEP 383). */
			fprintf(f, "\\u%04x", 0xdc00 | *p++);
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", (int)c);
		else if (hidden(c)) /* all below U+FFFF */
			fprintf(f, "\\u%04x", (unsigned)c);
		else
			fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
}

const char *shown_text(char *buf, size_t size, const char *text)
{
	FILE *f = size ? fmemopen(buf, size, "w") : NULL;
	if (!f)
		return "";
	setvbuf(f, NULL, _IONBF, 0);
	put_escaped(f, text, false);
	fclose(f);
	buf[size - 1] = '\0';
	return buf;
}
