/*
 * aptshim: the C API of aptshim.h over libapt-pkg.  The only C++ in pwapt.
 *
 * The plans follow apt-get's own code path (apt-private/private-install.cc
 * and private-upgrade.cc of apt 2.6, which is no library): the same checks
 * of the dependency state, the same command-line selection of versions,
 * the same marking, resolver and auto-remove steps, in the same order; only
 * the printing is left out.  Where apt prints an explanation next to an
 * error (broken dependencies, virtual packages), the explanation is added to
 * the error message.
 */
#include "aptshim.h"

#include <apt-pkg/acquire-item.h>
#include <apt-pkg/acquire.h>
#include <apt-pkg/algorithms.h>
#include <apt-pkg/aptconfiguration.h>
#include <apt-pkg/cachefile.h>
#include <apt-pkg/cacheset.h>
#include <apt-pkg/configuration.h>
#include <apt-pkg/depcache.h>
#include <apt-pkg/error.h>
#include <apt-pkg/fileutl.h>
#include <apt-pkg/init.h>
#include <apt-pkg/metaindex.h>
#include <apt-pkg/packagemanager.h>
#include <apt-pkg/pkgcache.h>
#include <apt-pkg/pkgrecords.h>
#include <apt-pkg/pkgsystem.h>
#include <apt-pkg/policy.h>
#include <apt-pkg/sourcelist.h>
#include <apt-pkg/strutl.h>
#include <apt-pkg/upgrade.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

struct aptshim {
	pkgCacheFile cache;
};

namespace
{

// libapt-pkg's state is global: one shim at a time (see aptshim.h).
bool shim_is_open;

// What a function of the API fails with, caught at the boundary.
struct failure {
	int code;
	std::string msg;
};

// apt's message as one of ours: one line, lowercase start, no final period.
std::string sentence(std::string s)
{
	for (char &c : s)
		if (c == '\n' || c == '\t')
			c = ' ';
	while (!s.empty() && (s.back() == '.' || s.back() == ' '))
		s.pop_back();
	size_t start = s.find_first_not_of(' ');
	s.erase(0, start == std::string::npos ? s.size() : start);
	if (!s.empty())
		s[0] = (char)tolower((unsigned char)s[0]);
	return s;
}

void append(std::string &to, const std::string &what)
{
	if (what.empty())
		return;
	if (!to.empty())
		to += "; ";
	to += what;
}

// Empties libapt-pkg's error stack; returns its errors, oldest first, as
// one sentence.  Warnings and notices are dropped.
std::string take_apt_errors()
{
	std::string all;
	while (!_error->empty(GlobalError::DEBUG)) {
		std::string msg;
		if (_error->PopMessage(msg))
			append(all, sentence(msg));
	}
	return all;
}

[[noreturn]] void fail(int code, const std::string &msg)
{
	_error->Discard();
	throw failure{code, msg};
}

// Fails with apt's errors, or with FALLBACK when apt gave none; EXTRA (an
// explanation apt would print) is added either way.
[[noreturn]] void fail_apt(int code, const std::string &fallback,
			   const std::string &extra = "")
{
	std::string msg = take_apt_errors();
	if (msg.empty())
		msg = fallback;
	append(msg, extra);
	fail(code, msg);
}

// libapt-pkg writes debug output and a few warnings to the C++ streams:
// while the shim runs they go nowhere.
class NullBuf : public std::streambuf
{
      protected:
	int overflow(int c) override
	{
		return traits_type::not_eof(c);
	}
	std::streamsize xsputn(const char *, std::streamsize n) override
	{
		return n;
	}
};

class Silence
{
	NullBuf null;
	std::streambuf *out, *err, *log;

      public:
	Silence()
	    : out(std::cout.rdbuf(&null)), err(std::cerr.rdbuf(&null)),
	      log(std::clog.rdbuf(&null))
	{
	}
	~Silence()
	{
		std::cout.rdbuf(out);
		std::cerr.rdbuf(err);
		std::clog.rdbuf(log);
	}
	Silence(const Silence &) = delete;
	Silence &operator=(const Silence &) = delete;
};

// CODE is what the call returns, 0 or -errno; ERR holds the errno value,
// positive, as libworld's struct world_error does.
int set_error(struct aptshim_error *err, int code, const std::string &msg)
{
	if (err) {
		err->code = -code;
		snprintf(err->msg, sizeof(err->msg), "%s", msg.c_str());
	}
	return code;
}

// Runs BODY as an API call: nothing printed, no exception let out, errors
// as data.
template <typename F> int guarded(struct aptshim_error *err, F &&body)
{
	Silence quiet;
	int r;
	try {
		_error->Discard();
		r = body();
		_error->Discard();
		set_error(err, 0, "");
	} catch (const failure &f) {
		r = set_error(err, f.code, f.msg);
	} catch (const std::bad_alloc &) {
		r = set_error(err, -ENOMEM, "out of memory");
	} catch (const std::exception &e) {
		r = set_error(err, -EIO,
			      sentence(std::string("libapt-pkg failed: ") +
				       e.what()));
	} catch (...) {
		r = set_error(err, -EIO, "libapt-pkg failed");
	}
	try {
		_error->Discard();
	} catch (...) {
	}
	return r;
}

char *dup_or_null(const char *s)
{
	if (!s)
		return nullptr;
	char *d = strdup(s);
	if (!d)
		throw std::bad_alloc();
	return d;
}

std::string full_name(const pkgCache::PkgIterator &pkg)
{
	return pkg.FullName(true);
}

// Every package of the cache, sorted by name as apt lists them.
std::vector<pkgCache::PkgIterator> sorted_packages(pkgCacheFile &cache)
{
	std::vector<pkgCache::PkgIterator> all;
	for (auto p = cache.GetPkgCache()->PkgBegin(); !p.end(); ++p)
		all.push_back(p);
	std::stable_sort(all.begin(), all.end(),
			 [](const pkgCache::PkgIterator &a,
			    const pkgCache::PkgIterator &b) {
				 int c = strcmp(a.Name(), b.Name());
				 return c != 0 ? c < 0
					       : strcmp(a.Arch(), b.Arch()) < 0;
			 });
	return all;
}

// What apt says of the target of a dependency it cannot satisfy: " but
// 1.0 is to be installed", " but it is not installable"...
std::string why_not(pkgDepCache &dc, pkgCache::DepIterator const &dep, bool now)
{
	auto target = dep.TargetPkg();
	if (target->ProvidesList != 0)
		return ""; // virtual: apt says nothing
	auto ver = now ? target.CurrentVer() : dc[target].InstVerIter(dc);
	if (!ver.end())
		return std::string(" but ") + ver.VerStr() +
		       (now ? " is installed" : " is to be installed");
	if (dc[target].CandidateVerIter(dc).end())
		return " but it is not installable";
	return now ? " but it is not installed"
		   : " but it is not going to be installed";
}

// The unsatisfied dependencies of PKG, as apt lists them:
// " : Depends: a (>= 1) but it is not installable, Depends: b or c ...".
std::string unmet_dependencies(pkgDepCache &dc,
			       pkgCache::VerIterator const &ver, bool now)
{
	std::string text;
	unsigned char want =
		now ? pkgDepCache::DepGNow : pkgDepCache::DepGInstall;
	for (auto d = ver.DependsList(); !d.end();) {
		pkgCache::DepIterator start, end;
		d.GlobOr(start, end); // advances d past the or-group
		if (!dc.IsImportantDep(end) || (dc[end] & want) == want)
			continue;
		text += text.empty() ? " : " : ", ";
		text += std::string(end.DepType()) + ":";
		for (;; ++start) {
			text += " " + full_name(start.TargetPkg());
			if (start.TargetVer() != nullptr)
				text += std::string(" (") + start.CompType() +
					" " + start.TargetVer() + ")";
			text += why_not(dc, start, now);
			if (start == end)
				break;
			text += " or";
		}
	}
	return text;
}

// apt's "The following packages have unmet dependencies:" list on one
// line: what is broken now (NOW), or after the planned changes.
std::string explain_broken(pkgCacheFile &cache, bool now)
{
	pkgDepCache &dc = *cache;
	if (dc.BrokenCount() == 0)
		return "";
	std::string text = "the following packages have unmet dependencies:";
	bool first = true;
	for (auto const &pkg : sorted_packages(cache)) {
		auto &state = dc[pkg];
		if (now ? !state.NowBroken() : !state.InstBroken())
			continue;
		text += first ? " " : "; ";
		first = false;
		text += full_name(pkg);
		auto ver = now ? pkg.CurrentVer() : state.InstVerIter(dc);
		if (!ver.end())
			text += unmet_dependencies(dc, ver, now);
	}
	return text;
}

// --- opening ---------------------------------------------------------------

bool is_slash(const char *dir)
{
	for (; *dir; dir++)
		if (*dir != '/')
			return false;
	return true;
}

// A fresh libapt-pkg: empty configuration, no errors, and none of the
// answers it caches in statics (architectures, languages) from an earlier
// tree.
void reset_apt()
{
	delete _config;
	_config = new Configuration;
	_error->Discard();
}

void refresh_apt_statics()
{
	APT::Configuration::getArchitectures(false);
	APT::Configuration::getLanguages(false, false);
	APT::Configuration::getLanguages(true, false);
	APT::Configuration::getCompressors(false);
}

// A program no tree can hold (a name longer than NAME_MAX): apt's attempt
// to run it fails, and nothing of the tree runs instead.
const std::string no_program = "/" + std::string(300, 'x');

// The architectures dpkg prints for --print-foreign-architectures: those of
// its database's arch file but the native one, in the file's order.
std::vector<std::string> foreign_architectures()
{
	std::string path =
		flNotFile(_config->FindFile("Dir::State::status")) + "arch";
	std::string native = _config->Find("APT::Architecture");
	std::vector<std::string> archs;
	std::unique_ptr<FILE, decltype(&fclose)> f(fopen(path.c_str(), "re"),
						   fclose);
	if (!f) {
		if (errno == ENOENT)
			return archs; // dpkg has only its native architecture
		fail(-EIO, "cannot read " + path + ": " + strerror(errno));
	}
	char line[256];
	while (fgets(line, sizeof(line), f.get())) {
		std::string a(line);
		a.erase(0, a.find_first_not_of(" \t"));
		a.erase(std::min(a.find_first_of(" \t\n"), a.size()));
		if (!a.empty() && a != native &&
		    std::find(archs.begin(), archs.end(), a) == archs.end())
			archs.push_back(a);
	}
	if (ferror(f.get()))
		fail(-EIO, "cannot read " + path);
	return archs;
}

// Nothing of the tree runs while the shim builds apt's cache and plans
// (pwapt also runs the shim inside the tree's world, so that whatever still
// runs, runs there).  Where libapt-pkg would run one of the tree's programs
// for a fact, the shim gives the answer: the architectures from dpkg's
// database instead of `dpkg --print-foreign-architectures`; "not a chroot"
// (a world is a container) instead of `ischroot` for phased updates; the
// capabilities of apt's own acquire methods (see fetch_needed) instead of
// starting the tree's.  Hooks that only apt-get and dpkg runs use are
// dropped.  A tree's external solver and decompressors shape its plan and
// still run, in the world.
void run_nothing_of_the_tree()
{
	if (_config->FindVector("APT::Architectures").empty()) {
		_config->Set("APT::Architectures::",
			     _config->Find("APT::Architecture"));
		for (auto const &a : foreign_architectures())
			_config->Set("APT::Architectures::", a);
	}
	_config->Set("Dir::Bin::dpkg", no_program);
	_config->Set("Dir::Bin::ischroot", no_program);
	_config->Clear("Dir::Bin::Methods");
	_config->Set("Dir::Bin::Methods", no_program);
	for (const char *hook :
	     {"DPkg::Pre-Invoke", "DPkg::Post-Invoke", "DPkg::Pre-Install-Pkgs",
	      "APT::Update::Pre-Invoke", "APT::Update::Post-Invoke",
	      "APT::Update::Post-Invoke-Success", "APT::Planner"})
		_config->Clear(hook);
}

void configure(const char *rootdir)
{
	bool chrooted = is_slash(rootdir);
	if (!chrooted)
		_config->Set("RootDir", rootdir);
	// The tree's apt.conf and apt.conf.d (RootDir applies to them).
	if (!pkgInitConfig(*_config))
		fail_apt(-EIO, "cannot read apt's configuration");
	// What apt-get itself does with its binary-specific settings.
	_config->Set("Binary", "apt-get");
	_config->MoveSubTree("Binary::apt-get", nullptr);

	if (!pkgInitSystem(*_config, _system))
		fail_apt(-EIO, "cannot initialize the packaging system");

	// Build the package cache in memory and never write it.  An empty
	// name is apt's way to say "no cache file", but under RootDir an
	// empty name means RootDir itself.  There, the cache is named below
	// dpkg's status file, which is a file: apt finds no cache there,
	// cannot write one, and creates directories only below Dir::Cache.
	std::string no_file;
	if (!chrooted) {
		no_file = _config->Find("Dir::State::status") + "/no-cache";
		struct stat st;
		std::string status = _config->FindFile("Dir::State::status");
		if (no_file[0] != '/' || stat(status.c_str(), &st) < 0 ||
		    S_ISDIR(st.st_mode))
			fail(-EIO, "cannot keep apt's cache out of " +
					   std::string(rootdir) + ": " +
					   status +
					   " is not dpkg's status file");
	}
	_config->Set("Dir::Cache::pkgcache", no_file);
	_config->Set("Dir::Cache::srcpkgcache", no_file);
	run_nothing_of_the_tree();
	refresh_apt_statics();
}

// A fetcher that knows what the acquire methods of apt would say of
// themselves: apt starts a method to learn whether it fetches only local
// files (file:, cdrom:), and the methods are the tree's programs.  Any
// other method fails to start (Dir::Bin::Methods names no_program).
class KnownMethods : public pkgAcquire
{
      public:
	explicit KnownMethods(pkgSourceList &list)
	{
		for (auto const *index : list) {
			std::string access = URI(index->GetURI()).Access;
			bool known = false;
			for (auto *c = Configs; c && !known; c = c->Next)
				known = c->Access == access;
			if (known)
				continue;
			auto *c = new MethodConfig;
			c->Access = access;
			c->LocalOnly = access == "file" || access == "cdrom";
			c->Next = Configs;
			Configs = c;
		}
	}
};

/* The archives FETCHER queued that are neither complete (in the archive
 * cache) nor on a local source (apt's acquire marks both Local), and their
 * bytes in *BYTES: what apt-get's "Need to get X/Y" calls X.  A version
 * without a Size: field counts 0 bytes but one archive. */
unsigned long archives_to_fetch(pkgAcquire &fetcher, uint64_t *bytes)
{
	unsigned long n = 0;
	*bytes = 0;
	for (auto i = fetcher.ItemsBegin(); i != fetcher.ItemsEnd(); ++i)
		if (!(*i)->Local && !(*i)->Complete) {
			n++;
			*bytes += (*i)->FileSize;
		}
	return n;
}

/* The plan's archives that are neither in the archive cache nor on a
 * file: source, and their bytes in *BYTES.  As apt-get -s computes them:
 * the archives are queued, never fetched, and nothing is written.  When
 * apt cannot tell, all of them (DEB_SIZE bytes, and at least one). */
unsigned long fetch_needed(pkgCacheFile &cache, uint64_t deb_size,
			   uint64_t *bytes)
{
	*bytes = deb_size;
	pkgSourceList *list = cache.GetSourceList();
	if (!list)
		return 1;
	KnownMethods fetcher(*list);
	pkgRecords records(cache);
	std::unique_ptr<pkgPackageManager> pm(
		_system->CreatePM(cache.GetDepCache()));
	if (!pm || !pm->GetArchives(&fetcher, list, &records) ||
	    _error->PendingError()) {
		_error->Discard();
		return 1;
	}
	return archives_to_fetch(fetcher, bytes);
}

// Whether VER, a version of DEP's target package or one providing it,
// satisfies DEP.
bool satisfies(pkgCache::DepIterator const &dep,
	       pkgCache::VerIterator const &ver)
{
	if (ver.ParentPkg() == dep.TargetPkg() && dep.IsSatisfied(ver))
		return true;
	for (auto prv = ver.ProvidesList(); !prv.end(); ++prv)
		if (prv.ParentPkg() == dep.TargetPkg() && dep.IsSatisfied(prv))
			return true;
	return false;
}

// Whether an upgrade could install VER of a package whose installed
// version is CUR (see plan_any_upgrade).
bool may_replace(pkgCache::VerIterator const &ver,
		 pkgCache::VerIterator const &cur, bool downgrades)
{
	int c = ver.CompareVer(cur);
	return c > 0 || (c < 0 && downgrades);
}

// Whether DEP stays satisfied by what is installed now, whatever an
// upgrade does: an installed version satisfies it (its package's, or one
// providing it), and so does every version that could replace it.  An
// installed version whose next one drops the Provides, or no longer
// matches a versioned dependency, is no answer.
bool met_for_good(pkgCache::DepIterator const &dep, bool downgrades)
{
	auto stays = [&](pkgCache::VerIterator const &cur) {
		if (!satisfies(dep, cur))
			return false;
		for (auto v = cur.ParentPkg().VersionList(); !v.end(); ++v)
			if (v.Downloadable() &&
			    may_replace(v, cur, downgrades) &&
			    !satisfies(dep, v))
				return false;
		return true;
	};
	auto target = dep.TargetPkg();
	if (!target.CurrentVer().end() && stays(target.CurrentVer()))
		return true;
	for (auto prv = target.ProvidesList(); !prv.end(); ++prv)
		if (prv.OwnerPkg().CurrentVer() == prv.OwnerVer() &&
		    stays(prv.OwnerVer()))
			return true;
	return false;
}

// Whether DEP is met now: by its package's installed version, or by one
// installed that provides it.
bool met_now(pkgCache::DepIterator const &dep)
{
	auto target = dep.TargetPkg();
	if (!target.CurrentVer().end() && satisfies(dep, target.CurrentVer()))
		return true;
	for (auto prv = target.ProvidesList(); !prv.end(); ++prv)
		if (prv.OwnerPkg().CurrentVer() == prv.OwnerVer() &&
		    satisfies(dep, prv.OwnerVer()))
			return true;
	return false;
}

// Every archive an upgrade of the installed packages could install, whatever
// versions it picks: each version of an installed package newer than the
// installed one (any other one with Unattended-Upgrade::Allow-downgrade),
// and, for each or-group of their Depends, Pre-Depends, Recommends and
// (with APT::Install-Suggests) Suggests that nothing installed satisfies
// for good (met_for_good), every version of every package that could
// (those of the packages named, and those providing them), and so on.
// Each is queued as apt queues an archive, never fetched.
void plan_any_upgrade(struct aptshim *shim, struct aptshim_plan *out)
{
	pkgCacheFile &cache = shim->cache;
	pkgCache *pc = cache.GetPkgCache();
	pkgSourceList *list = cache.GetSourceList();
	if (!pc || !list)
		fail_apt(-EIO, "cannot open the package cache");
	bool downgrades =
		_config->FindB("Unattended-Upgrade::Allow-downgrade", false);
	bool suggests = _config->FindB("APT::Install-Suggests", false);
	std::vector<bool> seen(pc->Head().VersionCount);
	std::vector<pkgCache::VerIterator> todo;
	auto want = [&](pkgCache::VerIterator const &ver) {
		if (!seen[ver->ID] && ver.Downloadable())
			todo.push_back(ver);
		seen[ver->ID] = true;
	};
	for (auto pkg = pc->PkgBegin(); !pkg.end(); ++pkg) {
		auto cur = pkg.CurrentVer();
		for (auto ver = pkg.VersionList(); !cur.end() && !ver.end();
		     ++ver)
			if (may_replace(ver, cur, downgrades))
				want(ver);
	}
	// Each item keeps a reference to its name in the cache: they outlive
	// the fetcher.
	std::list<std::string> stores;
	KnownMethods fetcher(*list);
	pkgRecords records(cache);
	struct aptshim_plan p = {};
	// VER, to meet DEP: only one that meets it and that an upgrade could
	// install (not its package's installed version, which is there).
	auto want_for = [&](pkgCache::DepIterator const &dep,
			    pkgCache::VerIterator const &ver) {
		auto cur = ver.ParentPkg().CurrentVer();
		if (satisfies(dep, ver) &&
		    (cur.end() || may_replace(ver, cur, downgrades)))
			want(ver);
	};
	// Of VER's or-groups, those that nothing installed meets for good:
	// every version that could meet them is wanted.  Of an INSTALLED
	// version, its Depends and Pre-Depends met now only (apt installs
	// no Recommends of a package it leaves, nor mends one broken).
	auto needs = [&](pkgCache::VerIterator const &ver, bool installed) {
		for (auto d = ver.DependsList(); !d.end();) {
			pkgCache::DepIterator start, end;
			d.GlobOr(start, end); // advances d past the or-group
			auto type = end->Type;
			bool hard = type == pkgCache::Dep::Depends ||
				    type == pkgCache::Dep::PreDepends;
			if (!hard &&
			    (installed ||
			     (type != pkgCache::Dep::Recommends &&
			      (type != pkgCache::Dep::Suggests || !suggests))))
				continue;
			bool met = false, now = !installed;
			for (auto a = start;; ++a) {
				met |= met_for_good(a, downgrades);
				now = now || met_now(a);
				if (met || a == end)
					break;
			}
			met = met || !now;
			for (auto a = start; !met; ++a) {
				auto target = a.TargetPkg();
				for (auto v = target.VersionList(); !v.end();
				     ++v)
					want_for(a, v);
				for (auto prv = target.ProvidesList();
				     !prv.end(); ++prv)
					want_for(a, prv.OwnerVer());
				if (a == end)
					break;
			}
		}
	};
	// An installed version that no upgrade replaces needs what it needs
	// too: one that meets it now may stop meeting it once upgraded.
	for (auto pkg = pc->PkgBegin(); !pkg.end(); ++pkg)
		if (!pkg.CurrentVer().end())
			needs(pkg.CurrentVer(), true);
	while (!todo.empty()) {
		auto ver = todo.back();
		todo.pop_back();
		p.upgraded++;
		p.newly_installed += ver.ParentPkg().CurrentVer().end();
		p.download_size += ver->Size;
		stores.emplace_back();
		new pkgAcqArchive(&fetcher, list, &records, ver, stores.back());
		needs(ver, false);
	}
	if (_error->PendingError())
		fail_apt(-EIO, "cannot queue the archives");
	p.fetch_archives = archives_to_fetch(fetcher, &p.fetch_size);
	*out = p;
}

// --- plans -----------------------------------------------------------------

// apt-get's selection helper (CacheSetHelperAPTGet), without its output:
// unknown names, versions picked by release, virtual packages.
class Selector : public APT::CacheSetHelper
{
      public:
	std::list<std::pair<pkgCache::VerIterator, std::string>> by_release;
	std::set<std::string> not_found;
	std::vector<pkgCache::PkgIterator> virtuals;

	Selector() : APT::CacheSetHelper(true)
	{
	}

	void showVersionSelection(pkgCache::PkgIterator const &pkg,
				  pkgCache::VerIterator const &ver,
				  enum VerSelector const select,
				  std::string const &pattern) override
	{
		if (select == VERSIONNUMBER && pattern == ver.VerStr())
			return; // pkg=version as it is: nothing to propagate
		if (select == VERSIONNUMBER || select == RELEASE)
			by_release.emplace_back(ver, pattern);
		else
			APT::CacheSetHelper::showVersionSelection(
				pkg, ver, select, pattern);
	}

	pkgCache::VerIterator
	canNotGetVersion(enum VerSelector const select, pkgCacheFile &cache,
			 pkgCache::PkgIterator const &pkg) override
	{
		switch (select) {
		case NEWEST:
			return provider(cache, pkg, NEWEST);
		case CANDIDATE:
			return no_candidate(cache, pkg);
		case VERSIONNUMBER:
		case RELEASE: {
			auto v = provider(cache, pkg, select);
			if (!v.end() || !ShowError)
				return v;
			std::string want = getLastVersionMatcher();
			v = select == RELEASE
				    ? canNotGetVerFromRelease(cache, pkg, want)
				    : canNotGetVerFromVersionNumber(cache, pkg,
								    want);
			if (v.end())
				virtuals.push_back(pkg);
			return v;
		}
		default:
			return APT::CacheSetHelper::canNotGetVersion(
				select, cache, pkg);
		}
	}

	void canNotFindVersion(enum VerSelector const select,
			       APT::VersionContainerInterface *const vci,
			       pkgCacheFile &cache,
			       pkgCache::PkgIterator const &pkg) override
	{
		if (select == NEWEST)
			provider(cache, pkg, NEWEST);
		else if (select == CANDIDATE)
			no_candidate(cache, pkg);
		else
			APT::CacheSetHelper::canNotFindVersion(select, vci,
							       cache, pkg);
	}

	pkgCache::PkgIterator canNotFindPkgName(pkgCacheFile &cache,
						std::string const &str) override
	{
		auto pkg = find_with_arch(cache, str);
		if (pkg.end()) {
			pkg = APT::CacheSetHelper::canNotFindPkgName(cache,
								     str);
			if (pkg.end() && ShowError)
				not_found.insert(str);
		}
		return pkg;
	}

	// What apt prints about the virtual packages it could not pick.
	std::string explain_virtuals(pkgCacheFile &cache) const
	{
		std::string text;
		for (auto const &pkg : virtuals) {
			std::string name = full_name(pkg);
			if (pkg->ProvidesList == 0) {
				append(text, "package " + name +
						     " is not available, but "
						     "is referred to by "
						     "another package");
				continue;
			}
			std::string list;
			for (auto p = pkg.ProvidesList(); !p.end(); ++p)
				if (cache[p.OwnerPkg()].CandidateVerIter(
					    cache) == p.OwnerVer())
					list += (list.empty() ? "" : ", ") +
						full_name(p.OwnerPkg()) + " " +
						p.OwnerVer().VerStr();
			append(text,
			       "package " + name +
				       " is a virtual package provided "
				       "by: " +
				       (list.empty() ? "no candidate" : list) +
				       "; you should explicitly select "
				       "one to install");
		}
		return text;
	}

      private:
	pkgCache::VerIterator no_candidate(pkgCacheFile &cache,
					   pkgCache::PkgIterator const &pkg)
	{
		auto v = provider(cache, pkg, CANDIDATE);
		if (v.end() && ShowError) {
			_error->Error("Package '%s' has no installation "
				      "candidate",
				      full_name(pkg).c_str());
			virtuals.push_back(pkg);
		}
		return v;
	}

	// "name" or "name:arch" known only in some architecture, or only as
	// the target of a dependency ("name:arch:any").
	pkgCache::PkgIterator find_with_arch(pkgCacheFile &cache,
					     std::string const &str)
	{
		std::string name = str, arch;
		size_t colon = name.find_last_of(':');
		if (colon != std::string::npos) {
			arch = name.substr(colon + 1);
			name.erase(colon);
			if (arch == "all" || arch == "native")
				arch = _config->Find("APT::Architecture");
		}
		auto *pc = cache.GetPkgCache();
		auto archs = APT::Configuration::getArchitectures();
		pkgCache::PkgIterator pkg(*pc, nullptr);
		if (colon == std::string::npos) {
			for (auto const &a : archs) {
				pkg = pc->FindPkg(name + ':' + a, "any");
				if (!pkg.end() && pkg->ProvidesList != 0)
					return pkg;
			}
			for (auto const &a : archs) {
				pkg = pc->FindPkg(name + ':' + a, "any");
				if (!pkg.end())
					return pkg;
			}
			return pkg;
		}
		pkg = pc->FindPkg(name + ':' + arch, "any");
		if (!pkg.end())
			return pkg;
		APT::CacheFilter::PackageArchitectureMatchesSpecification
			matches(arch);
		for (auto const &a : archs) {
			if (!matches(a.c_str()))
				continue;
			pkg = pc->FindPkg(name + ':' + a, "any");
			if (!pkg.end())
				return pkg;
		}
		return pkg;
	}

	// The one package that provides the virtual PKG in the way SELECT
	// asks (apt's tryVirtualPackage), or an end iterator.
	pkgCache::VerIterator provider(pkgCacheFile &cache,
				       pkgCache::PkgIterator const &pkg,
				       VerSelector select)
	{
		pkgCache::VerIterator none(cache, nullptr);
		if (pkg->ProvidesList == 0)
			return none;
		bool old_show = showErrors(false);
		std::string want = getLastVersionMatcher();
		std::vector<pkgCache::VerIterator> found;
		for (auto p = pkg.ProvidesList(); !p.end(); ++p) {
			auto v = p.OwnerVer();
			if (select == RELEASE) {
				for (auto f = v.FileList(); !f.end(); ++f) {
					auto file = f.File();
					if ((file.Archive() &&
					     want == file.Archive()) ||
					    (file.Codename() &&
					     want == file.Codename())) {
						found.push_back(v);
						break;
					}
				}
			} else if (select == VERSIONNUMBER) {
				if (p->ProvideVersion != 0 &&
				    want == p.ProvideVersion())
					found.push_back(v);
			} else if (cache[v.ParentPkg()].CandidateVerIter(
					   cache) == v) {
				found.push_back(v);
			}
		}
		if (select == VERSIONNUMBER || select == RELEASE)
			for (auto const &v : found)
				if (std::count_if(
					    found.begin(), found.end(),
					    [&](auto const &o) {
						    return o.ParentPkg() ==
							   v.ParentPkg();
					    }) == 1)
					cache->SetCandidateVersion(v);
		showErrors(old_show);

		pkgCache::VerIterator chosen = none;
		auto archs = APT::Configuration::getArchitectures();
		for (auto const &v : found) {
			if (chosen.end()) {
				chosen = v;
				continue;
			}
			auto cp = chosen.ParentPkg(), ap = v.ParentPkg();
			if (cp->Group != ap->Group)
				return none;
			if (strcmp(pkg.Arch(), cp.Arch()) == 0 ||
			    strcmp(cp.Arch(), "all") == 0)
				continue;
			if (std::find(archs.begin(), archs.end(), ap.Arch()) <
			    std::find(archs.begin(), archs.end(), cp.Arch()))
				chosen = v;
		}
		return chosen;
	}
};

// One plan: it starts from the tree's state (the dependency cache anew)
// and undoes, when done, what it changed in the package cache itself.
class Plan
{
	std::vector<std::pair<pkgCache::PkgIterator, unsigned char>> selections;
	bool inhibited = false;

      public:
	pkgCacheFile &cache;
	pkgDepCache &dc;

	explicit Plan(aptshim *s) : cache(s->cache), dc(*s->cache.GetDepCache())
	{
		if (!dc.Init(nullptr))
			fail_apt(-EIO, "cannot build the dependency tree");
	}
	~Plan()
	{
		for (auto &s : selections)
			s.first->SelectedState = s.second;
		if (inhibited)
			dc.DecreaseActionGroupLevel();
	}
	Plan(const Plan &) = delete;
	Plan &operator=(const Plan &) = delete;

	// apt-get install holds its marks in one action group.
	void inhibit_action_groups()
	{
		dc.IncreaseActionGroupLevel();
		inhibited = true;
	}

	// apt-get marks a package it was asked to remove but that is not
	// installed as held (so that nothing installs it); undone afterwards.
	void hold(pkgCache::PkgIterator pkg)
	{
		selections.emplace_back(pkg, pkg->SelectedState);
		pkg->SelectedState = pkgCache::State::Hold;
	}

	// apt-get's CacheFile::CheckDeps.
	void check_deps(bool allow_broken)
	{
		if (_error->PendingError())
			fail_apt(-EIO, "cannot open the package cache");
		if (dc.DelCount() != 0 || dc.InstCount() != 0)
			fail(-EIO, "internal error, non-zero counts");
		if (!pkgApplyStatus(dc))
			fail_apt(-EIO, "cannot apply the dpkg status");
		bool fix_broken = _config->FindB("APT::Get::Fix-Broken", false);
		if (_config->FindB("APT::Get::Fix-Policy-Broken", false)) {
			fix_broken = true;
			if (dc.PolicyBrokenCount() > 0)
				for (auto p = dc.PkgBegin(); !p.end(); ++p)
					if (dc[p].NowPolicyBroken())
						dc.MarkInstall(p, true, 0,
							       false, true);
		}
		if (dc.BrokenCount() == 0 || allow_broken)
			return;
		if (!fix_broken)
			fail(-EDEADLK, "unmet dependencies. Try 'apt "
				       "--fix-broken install' with no packages "
				       "(or specify a solution); " +
					       explain_broken(cache, true));
		if (!pkgFixBroken(dc) || dc.BrokenCount() != 0)
			fail_apt(-EDEADLK, "unable to correct dependencies",
				 explain_broken(cache, true));
		if (!pkgMinimizeUpgrade(dc))
			fail_apt(-EDEADLK,
				 "unable to minimize the upgrade set");
	}

	// apt-get's CheckNothingBroken.
	void check_nothing_broken()
	{
		if (dc.BrokenCount() == 0)
			return;
		fail_apt(-EDEADLK, "broken packages",
			 explain_broken(cache, false));
	}

	// The packages "?upgradable" selects now.
	std::set<map_id_t> upgradable()
	{
		APT::PackageSet set;
		APT::CacheSetHelper helper;
		helper.PackageFrom(APT::CacheSetHelper::PATTERN, &set, cache,
				   "?upgradable");
		std::set<map_id_t> out;
		for (auto const &p : set)
			out.insert(p->ID);
		return out;
	}

	// apt-get's DoAutomaticRemove: with REMOVE (apt-get autoremove or
	// APT::Get::AutomaticRemove) it removes what is no longer needed;
	// otherwise it only drops new installs that nothing needs.
	void automatic_remove(bool remove)
	{
		if (remove && !_config->FindB("APT::Get::Remove", true))
			fail(-EIO, "we are not supposed to delete stuff, can't "
				   "start AutoRemover");
		dc.MarkAndSweep();
		bool purge = _config->FindB("APT::Get::Purge", false);
		std::vector<pkgCache::PkgIterator> dropped;
		for (auto const &pkg : sorted_packages(cache)) {
			if (!dc[pkg].Garbage)
				continue;
			if (remove) {
				if (pkg->CurrentVer != 0 &&
				    pkg->CurrentState !=
					    pkgCache::State::ConfigFiles)
					dc.MarkDelete(pkg, purge, 0, false);
				else
					dc.MarkKeep(pkg, false, false);
			} else if (dc[pkg].Install() && pkg->CurrentVer == 0) {
				dropped.push_back(pkg);
				dc.MarkDelete(pkg, false, 0, false);
			}
		}
		// A dropped package may be a new dependency of another
		// change: install it again then.
		while (!dropped.empty() &&
		       (dc.BrokenCount() != 0 || dc.PolicyBrokenCount() != 0)) {
			auto again = std::find_if(
				dropped.begin(), dropped.end(),
				[&](auto const &p) { return still_needed(p); });
			if (again == dropped.end())
				break;
			dc.MarkInstall(*again, false, 0, false);
			dropped.erase(again);
		}
		if (dc.BrokenCount() != 0)
			fail(-EIO, "internal error, AutoRemover broke stuff; " +
					   explain_broken(cache, false));
	}

	// Whether a change to be made depends on PKG or on what it provides.
	bool still_needed(pkgCache::PkgIterator const &pkg)
	{
		std::vector<pkgCache::PkgIterator> names{pkg};
		for (auto p = dc[pkg].CandidateVerIter(dc).ProvidesList();
		     !p.end(); ++p)
			names.push_back(p.ParentPkg());
		for (auto const &name : names)
			for (auto r = name.RevDependsList(); !r.end(); ++r) {
				if (r.IsNegative() || !dc.IsImportantDep(r))
					continue;
				auto rv = r.ParentVer();
				if (rv.end())
					continue;
				auto rp = rv.ParentPkg();
				if (rp.CurrentVer() == rv) {
					if (dc[rp].Keep())
						return true;
				} else if (dc[rp].CandidateVerIter(dc) == rv) {
					if (dc[rp].NewInstall() ||
					    dc[rp].Upgrade())
						return true;
				}
			}
		return false;
	}

	// Packages apt-get reports as "kept back" (not upgraded).
	std::set<map_id_t> held_back(const std::set<map_id_t> &was_upgradable)
	{
		std::set<map_id_t> held;
		for (auto p = dc.PkgBegin(); !p.end(); ++p)
			if (p->CurrentVer != 0 && !dc[p].Upgrade() &&
			    !dc[p].Delete() && was_upgradable.count(p->ID))
				held.insert(p->ID);
		return held;
	}
};

// apt-get's TryToInstall.
struct Installer {
	Plan &plan;
	pkgProblemResolver *fix;
	bool broken_fix;
	std::vector<pkgCache::PkgIterator> auto_install_later;

	void operator()(pkgCache::VerIterator const &ver)
	{
		pkgDepCache &dc = plan.dc;
		auto pkg = ver.ParentPkg();
		dc.SetCandidateVersion(ver);
		auto &state = dc[pkg];
		bool reinstall = _config->FindB("APT::Get::ReInstall", false);
		bool only_upgrade =
			_config->FindB("APT::Get::Only-Upgrade", false);
		if (!_config->FindB("APT::Get::upgrade", true) &&
		    pkg->CurrentVer != 0)
			; // "skipping, it is already installed"
		else if (only_upgrade && pkg->CurrentVer == 0)
			; // "skipping, it is not installed"
		else {
			if (fix) {
				fix->Clear(pkg);
				fix->Protect(pkg);
			}
			dc.MarkInstall(pkg, false);
			if (!state.Install() && reinstall &&
			    pkg->CurrentVer != 0 &&
			    pkg.CurrentVer().Downloadable())
				dc.SetReInstall(pkg, true);
			if (!broken_fix)
				auto_install_later.push_back(pkg);
		}
		// "set to manually installed"
		if (!state.Install() && (state.Flags & pkgCache::Flag::Auto) &&
		    !reinstall && !only_upgrade &&
		    !_config->FindB("APT::Get::Download-Only", false))
			dc.MarkAuto(pkg, false);
	}
};

// apt-get's TryToRemove.
struct Remover {
	Plan &plan;
	pkgProblemResolver *fix;

	void operator()(pkgCache::VerIterator const &ver)
	{
		bool purge = _config->FindB("APT::Get::Purge", false);
		auto pkg = ver.ParentPkg();
		if (fix) {
			fix->Clear(pkg);
			fix->Protect(pkg);
			fix->Remove(pkg);
		}
		if ((pkg->CurrentVer == 0 && !purge) ||
		    (purge &&
		     pkg->CurrentState == pkgCache::State::NotInstalled))
			plan.hold(pkg); // "is not installed, so not removed"
		else
			plan.dc.MarkDelete(pkg, purge);
	}
};

// The plan as data, from the marks in the dependency cache.
void fill_plan(Plan &plan, const std::set<map_id_t> &held,
	       struct aptshim_plan *out)
{
	pkgDepCache &dc = plan.dc;
	struct aptshim_plan p = {};
	std::vector<struct aptshim_change> changes;
	auto drop = [&]() {
		for (auto &c : changes) {
			free(c.name);
			free(c.arch);
			free(c.old_version);
			free(c.new_version);
		}
	};
	try {
		for (auto const &pkg : sorted_packages(plan.cache)) {
			auto &s = dc[pkg];
			auto cur = pkg.CurrentVer();
			pkgCache::VerIterator next = s.InstVerIter(dc);
			struct aptshim_change c = {};
			if (s.ReInstall())
				p.reinstalled++;
			if (s.NewInstall()) {
				c.action = APTSHIM_INSTALL;
				p.newly_installed++;
			} else if (s.Upgrade()) {
				c.action = APTSHIM_UPGRADE;
				p.upgraded++;
			} else if (s.Downgrade()) {
				c.action = APTSHIM_DOWNGRADE;
				p.downgraded++;
			} else if (s.Delete()) {
				c.action = APTSHIM_REMOVE;
				next = pkgCache::VerIterator(dc, nullptr);
			} else if (s.ReInstall()) {
				c.action = APTSHIM_REINSTALL;
				next = cur;
			} else if (held.count(pkg->ID)) {
				c.action = APTSHIM_KEPT_BACK;
				next = s.CandidateVerIter(dc);
			} else {
				continue;
			}
			auto const &shown = next.end() ? cur : next;
			changes.push_back(c);
			auto &n = changes.back();
			n.name = dup_or_null(pkg.Name());
			n.arch = dup_or_null(shown.end() ? pkg.Arch()
							 : shown.Arch());
			n.old_version =
				dup_or_null(cur.end() ? nullptr : cur.VerStr());
			n.new_version = dup_or_null(next.end() ? nullptr
							       : next.VerStr());
			n.automatic = (s.Flags & pkgCache::Flag::Auto) != 0;
		}
		p.to_remove = dc.DelCount();
		p.not_upgraded = held.size();
		p.download_size = dc.DebSize();
		p.fetch_archives = fetch_needed(plan.cache, p.download_size,
						&p.fetch_size);
		p.installed_size_change = dc.UsrSize();
		p.n_changes = changes.size();
		if (!changes.empty()) {
			p.changes = (struct aptshim_change *)calloc(
				changes.size(), sizeof(*p.changes));
			if (!p.changes)
				throw std::bad_alloc();
			std::copy(changes.begin(), changes.end(), p.changes);
		}
	} catch (...) {
		drop();
		throw;
	}
	*out = p;
}

int plan_upgrade(aptshim *shim, bool dist, struct aptshim_plan *out)
{
	Plan plan(shim);
	plan.check_deps(false);
	auto upgradable = plan.upgradable();
	if (_config->FindB("APT::Get::CallResolver", true)) {
		int mode = APT::Upgrade::ALLOW_EVERYTHING;
		if (!dist) {
			mode = APT::Upgrade::FORBID_REMOVE_PACKAGES;
			if (!_config->FindB("APT::Get::Upgrade-Allow-New",
					    false))
				mode |= APT::Upgrade::
					FORBID_INSTALL_NEW_PACKAGES;
		}
		if (!APT::Upgrade::Upgrade(plan.dc, mode, nullptr) &&
		    plan.dc.BrokenCount() == 0)
			fail_apt(-EDEADLK, "cannot compute the upgrade");
	}
	plan.check_nothing_broken();
	// apt-get upgrade and dist-upgrade ignore APT::Get::AutomaticRemove.
	plan.automatic_remove(false);
	fill_plan(plan, plan.held_back(upgradable), out);
	return (int)out->n_changes;
}

int plan_install(aptshim *shim, const char *const *pkgs, size_t n,
		 struct aptshim_plan *out)
{
	enum { MOD_REMOVE = 1, MOD_INSTALL = 2 };
	Plan plan(shim);
	plan.inhibit_action_groups();
	plan.check_deps(n > 0);
	pkgDepCache &dc = plan.dc;
	bool broken_fix = dc.BrokenCount() != 0;
	std::unique_ptr<pkgProblemResolver> fix;
	if (_config->FindB("APT::Get::CallResolver", true))
		fix.reset(new pkgProblemResolver(&dc));

	std::list<APT::VersionSet::Modifier> mods;
	mods.emplace_back(MOD_INSTALL, "+", APT::VersionSet::Modifier::POSTFIX,
			  APT::CacheSetHelper::CANDIDATE);
	mods.emplace_back(MOD_REMOVE, "-", APT::VersionSet::Modifier::POSTFIX,
			  APT::CacheSetHelper::NEWEST);
	std::vector<const char *> args(pkgs, pkgs + n);
	args.push_back(nullptr);
	Selector selector;
	auto verset = APT::VersionVector::GroupedFromCommandLine(
		plan.cache, args.data(), mods, MOD_INSTALL, selector);
	for (auto &vs : verset) {
		std::set<map_id_t> seen;
		vs.second.erase(
			std::remove_if(
				vs.second.begin(), vs.second.end(),
				[&](auto const &v) {
					return !seen.insert(v->ID).second;
				}),
			vs.second.end());
	}
	if (_error->PendingError())
		fail_apt(-ENOENT, "cannot select the packages",
			 selector.explain_virtuals(plan.cache));

	Installer installer{plan, fix.get(), broken_fix, {}};
	Remover remover{plan, fix.get()};
	for (auto const &v : verset[MOD_REMOVE])
		remover(v);
	for (auto const &v : verset[MOD_INSTALL])
		installer(v);
	auto upgradable = plan.upgradable();
	if (fix && _config->FindB("APT::Get::AutoSolving", true)) {
		for (auto const &s : selector.by_release)
			dc.SetCandidateVersion(s.first);
		std::list<
			std::pair<pkgCache::VerIterator, pkgCache::VerIterator>>
			changed;
		for (auto const &s : selector.by_release) {
			changed.emplace_back(s.first,
					     pkgCache::VerIterator(plan.cache));
			dc.SetCandidateRelease(s.first, s.second, changed);
		}
		for (auto const &p : installer.auto_install_later)
			dc.MarkInstall(p, true);
	}
	if (_error->PendingError())
		fail_apt(-EDEADLK, "cannot mark the packages");
	if (broken_fix && dc.BrokenCount() != 0)
		fail(-EDEADLK, "unmet dependencies. Try 'apt --fix-broken "
			       "install' with no packages (or specify a "
			       "solution); " +
				       explain_broken(plan.cache, false));
	if (fix) {
		if (!fix->Resolve(true, nullptr) && dc.BrokenCount() == 0)
			fail_apt(-EDEADLK, "cannot resolve the dependencies");
	}
	plan.check_nothing_broken();
	plan.automatic_remove(
		_config->FindB("APT::Get::AutomaticRemove", false));
	fill_plan(plan, plan.held_back(upgradable), out);
	return (int)out->n_changes;
}

// The non-empty lines of PATH.
std::vector<std::string> read_lines(const std::string &path)
{
	std::unique_ptr<FILE, decltype(&fclose)> f(fopen(path.c_str(), "re"),
						   fclose);
	if (!f)
		fail(-errno, "cannot read " + path + ": " + strerror(errno));
	std::vector<std::string> lines;
	std::unique_ptr<char, decltype(&free)> buf(nullptr, free);
	size_t size = 0;
	char *line = nullptr;
	ssize_t len;
	errno = 0;
	while ((len = getline(&line, &size, f.get())) >= 0) {
		buf.release();
		buf.reset(line);
		while (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0)
			lines.emplace_back(line, len);
	}
	buf.release();
	buf.reset(line);
	if (ferror(f.get()))
		fail(errno ? -errno : -EIO,
		     "cannot read " + path + ": " +
			     strerror(errno ? errno : EIO));
	return lines;
}

pkgCache::PkgIterator find_package(aptshim *shim, const char *name)
{
	auto pkg = shim->cache.GetPkgCache()->FindPkg(name);
	if (pkg.end())
		fail(-ENOENT, std::string("unable to locate package ") + name);
	return pkg;
}

} // namespace

// --- the API ---------------------------------------------------------------

extern "C" {

int aptshim_open(struct aptshim **out, const char *rootdir,
		 struct aptshim_error *err)
{
	return guarded(err, [&]() -> int {
		if (!out || !rootdir || rootdir[0] != '/')
			fail(-EINVAL, "the root directory must be an "
				      "absolute path");
		if (shim_is_open)
			fail(-EBUSY, "another apt shim is open in this "
				     "process");
		struct stat st;
		int e = stat(rootdir, &st) < 0 ? errno
			: !S_ISDIR(st.st_mode) ? ENOTDIR
					       : 0;
		if (e)
			fail(-e, std::string("cannot open ") + rootdir + ": " +
					 strerror(e));
		reset_apt();
		auto shim = std::make_unique<aptshim>();
		try {
			configure(rootdir);
			if (!shim->cache.Open(nullptr, false) ||
			    _error->PendingError())
				fail_apt(-EIO, "cannot open the package cache");
		} catch (...) {
			shim.reset();
			reset_apt();
			throw;
		}
		*out = shim.release();
		shim_is_open = true;
		return 0;
	});
}

void aptshim_free(struct aptshim *shim)
{
	if (!shim)
		return;
	guarded(nullptr, [&]() -> int {
		delete shim;
		reset_apt();
		shim_is_open = false;
		return 0;
	});
}

int aptshim_plan_upgrade(struct aptshim *shim, bool dist,
			 struct aptshim_plan *out, struct aptshim_error *err)
{
	return guarded(err, [&]() -> int {
		if (!shim || !out)
			fail(-EINVAL, "no shim or no plan given");
		return plan_upgrade(shim, dist, out);
	});
}

int aptshim_plan_install(struct aptshim *shim, const char *const *pkgs,
			 size_t n, struct aptshim_plan *out,
			 struct aptshim_error *err)
{
	return guarded(err, [&]() -> int {
		if (!shim || !out || (n > 0 && !pkgs))
			fail(-EINVAL, "no shim, packages or plan given");
		for (size_t i = 0; i < n; i++)
			if (!pkgs[i] || !pkgs[i][0])
				fail(-EINVAL, "empty package name");
		return plan_install(shim, pkgs, n, out);
	});
}

int aptshim_plan_any_upgrade(struct aptshim *shim, struct aptshim_plan *out,
			     struct aptshim_error *err)
{
	return guarded(err, [&]() -> int {
		if (!shim || !out)
			fail(-EINVAL, "no shim or no plan given");
		plan_any_upgrade(shim, out);
		return 0;
	});
}

void aptshim_plan_release(struct aptshim_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->n_changes; i++) {
		free(plan->changes[i].name);
		free(plan->changes[i].arch);
		free(plan->changes[i].old_version);
		free(plan->changes[i].new_version);
	}
	free(plan->changes);
	*plan = (struct aptshim_plan){};
}

int aptshim_versions(struct aptshim *shim, const char *pkg, char **installed,
		     char **candidate, struct aptshim_error *err)
{
	return guarded(err, [&]() -> int {
		if (!shim || !pkg)
			fail(-EINVAL, "no shim or package given");
		auto p = find_package(shim, pkg);
		auto cur = p.CurrentVer();
		auto cand = shim->cache.GetPolicy()->GetCandidateVer(p);
		std::unique_ptr<char, decltype(&free)> i(
			dup_or_null(cur.end() ? nullptr : cur.VerStr()), free);
		std::unique_ptr<char, decltype(&free)> c(
			dup_or_null(cand.end() ? nullptr : cand.VerStr()),
			free);
		if (installed)
			*installed = i.release();
		if (candidate)
			*candidate = c.release();
		return 0;
	});
}

int aptshim_files(struct aptshim *shim, const char *pkg, char ***files,
		  struct aptshim_error *err)
{
	return guarded(err, [&]() -> int {
		if (!shim || !pkg || !files)
			fail(-EINVAL, "no shim, package or file list given");
		auto p = find_package(shim, pkg);
		auto cur = p.CurrentVer();
		if (cur.end())
			fail(-ENOENT, std::string("package ") + full_name(p) +
					      " is not installed");
		// dpkg names the list of a Multi-Arch: same package with
		// its architecture.
		std::string name = p.Name();
		if ((cur->MultiArch & pkgCache::Version::Same) ==
		    pkgCache::Version::Same)
			name += std::string(":") + cur.Arch();
		std::string path =
			flNotFile(_config->FindFile("Dir::State::status")) +
			"info/" + name + ".list";
		std::vector<std::string> lines = read_lines(path);
		char **v = (char **)calloc(lines.size() + 1, sizeof(*v));
		if (!v)
			throw std::bad_alloc();
		for (size_t i = 0; i < lines.size(); i++) {
			v[i] = strdup(lines[i].c_str());
			if (!v[i]) {
				aptshim_strv_free(v);
				throw std::bad_alloc();
			}
		}
		*files = v;
		return (int)lines.size();
	});
}

void aptshim_strv_free(char **strv)
{
	if (!strv)
		return;
	for (char **s = strv; *s; s++)
		free(*s);
	free(strv);
}

const char *aptshim_action_name(enum aptshim_action action)
{
	switch (action) {
	case APTSHIM_INSTALL:
		return "install";
	case APTSHIM_UPGRADE:
		return "upgrade";
	case APTSHIM_DOWNGRADE:
		return "downgrade";
	case APTSHIM_REINSTALL:
		return "reinstall";
	case APTSHIM_REMOVE:
		return "remove";
	case APTSHIM_KEPT_BACK:
		return "kept back";
	}
	return "unknown";
}

} // extern "C"
