#include "daemon/node_source.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdlib>
#include <set>

#include "daemon/node_command.hpp"

namespace dora::daemon {
namespace {

// Clones (or updates) $1 (repository) into $2 (directory) and checks out the revision $3 (kind:
// branch, tag, rev, default) $4 (name). A fresh clone grows in "$2.tmp.<pid>" and is renamed to
// $2 only after its checkout succeeded; its trap removes it on any failure, and leftovers of a
// killed attempt are removed first. Exit codes: see git_hint.
constexpr const char* kGitScript = R"sh(set -u
repo=$1 dir=$2 kind=$3 value=$4
export GIT_TERMINAL_PROMPT=0
command -v git >/dev/null 2>&1 || exit 120
mkdir -p "$(dirname "$dir")" || exit 121
for stale in "$dir".tmp.*; do if [ -e "$stale" ]; then rm -rf "$stale"; fi; done
case $kind in
    branch) want="refs/remotes/origin/$value" ;;
    tag) want="refs/tags/$value" ;;
    rev) want="$value" ;;
    *) want="refs/remotes/origin/HEAD" ;;
esac
if [ -d "$dir/.git" ]; then
    work=$dir
    echo "updating $dir"
else
    work="$dir.tmp.$$"
    trap 'rm -rf "$work"' EXIT
    echo "cloning $repo into $dir"
    git -c init.defaultBranch=dora init --quiet "$work" || exit 121
    git -C "$work" remote add origin "$repo" || exit 121
fi
if [ "$kind" != rev ] || ! git -C "$work" rev-parse --verify --quiet "$want^{commit}" >/dev/null; then
    git -C "$work" fetch --quiet --tags --force --prune origin || exit 122
    if [ "$kind" = default ]; then git -C "$work" remote set-head origin --auto >/dev/null || exit 122; fi
fi
commit=$(git -C "$work" rev-parse --verify --quiet "$want^{commit}")
if [ -z "$commit" ] && [ "$kind" = rev ] && git -C "$work" fetch --quiet origin "$value" 2>/dev/null; then
    commit=$(git -C "$work" rev-parse --verify --quiet "FETCH_HEAD^{commit}")
fi
if [ -z "$commit" ]; then echo "no $kind '$value' in $repo" >&2; exit 123; fi
git -C "$work" checkout --quiet --detach "$commit" || exit 124
if [ "$work" != "$dir" ]; then mv "$work" "$dir" || exit 121; trap - EXIT; fi
echo "checked out $commit"
)sh";

// Downloads $1 (URL) to $2 (file) through "$2.part.<pid>", removed by the trap unless it was
// complete, a 2xx answer, not empty and made executable. Exit codes: curl's own, or 120-125
// (see download_hint).
constexpr const char* kDownloadScript = R"sh(set -u
url=$1 file=$2
command -v curl >/dev/null 2>&1 || exit 120
mkdir -p "$(dirname "$file")" || exit 121
part="$file.part.$$"
trap 'rm -f "$part"' EXIT
echo "downloading $url"
code=$(curl --silent --show-error --location --proto '=http,https' --connect-timeout 30 \
    --output "$part" --write-out '%{http_code}' -- "$url") || exit $?
case $code in
    2??) ;;
    *) echo "HTTP $code from $url" >&2; exit 122 ;;
esac
[ -s "$part" ] || { echo "$url is empty" >&2; exit 124; }
chmod 755 "$part" || exit 125
mv -f "$part" "$file" || exit 121
trap - EXIT
echo "downloaded $url to $file"
)sh";

bool plain_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

// `text` with every character outside [A-Za-z0-9._-] replaced by '_' and, when that changed
// anything (or left a name '.'/'..' could be), a hash of the original appended.
std::string safe_name(std::string_view text) {
    std::string out;
    bool changed = text.empty() || text == "." || text == "..";
    for (char c : text) {
        out += plain_name_char(c) ? c : '_';
        changed |= !plain_name_char(c);
    }
    if (changed) out += "-" + short_hash(text).substr(0, 8);
    return out;
}

// The repository's last path segment without ".git" ("node" when there is none).
std::string repo_name(std::string_view repo) {
    while (!repo.empty() && (repo.back() == '/' || repo.back() == '\\')) repo.remove_suffix(1);
    size_t cut = repo.find_last_of("/:");
    std::string_view name = cut == std::string_view::npos ? repo : repo.substr(cut + 1);
    if (name.ends_with(".git")) name.remove_suffix(4);
    if (name.empty()) return "repo";
    std::string out;
    for (char c : name) out += plain_name_char(c) ? c : '_';
    return out;
}

std::pair<std::string, std::string> revision_of(const GitSource& git) {
    if (git.branch) return {"branch", *git.branch};
    if (git.tag) return {"tag", *git.tag};
    if (git.rev) return {"rev", *git.rev};
    return {"default", ""};
}

std::string git_hint(const GitSource& git, const std::filesystem::path& dir, int code) {
    auto [kind, value] = revision_of(git);
    switch (code) {
        case 120:
            return "git is not installed on this machine: install it (Debian: apt-get install "
                   "git)";
        case 121:
            return fmt::format("cannot create {}: check the permissions and free space there",
                               dir.string());
        case 122:
            return fmt::format(
                "cannot fetch from {}: check that the URL is right and the repository is "
                "reachable from this machine (and, if it is private, its credentials)",
                git.repo);
        case 123:
            if (kind == "branch") {
                return fmt::format(
                    "the repository has no branch `{}`: check the name (`git "
                    "ls-remote --heads {}` lists them)",
                    value, git.repo);
            }
            if (kind == "tag") {
                return fmt::format(
                    "the repository has no tag `{}`: check the name (`git "
                    "ls-remote --tags {}` lists them)",
                    value, git.repo);
            }
            if (kind == "rev") {
                return fmt::format(
                    "the repository has no commit `{}`: check the hash (an "
                    "abbreviated one must be unique in the repository)",
                    value);
            }
            return "the repository has no default branch: is it empty?";
        case 124:
            return fmt::format(
                "the checkout failed in {}: if it has local changes, commit or "
                "discard them (`git -C {} status`)",
                dir.string(), dir.string());
        default:
            return "";
    }
}

std::string download_hint(const std::string& url, const std::filesystem::path& file, int code) {
    switch (code) {
        case 120:
            return "curl is not installed on this machine: install it (Debian: apt-get install "
                   "curl ca-certificates)";
        case 121:
            return fmt::format("cannot write {}: check the permissions and free space there",
                               file.parent_path().string());
        case 122:
            return fmt::format("the server refused {} (404: no such file; check the URL)", url);
        case 124:
            return "the server sent an empty file: check the URL";
        case 125:
            return fmt::format("cannot make {} executable", file.string());
        case 6:
            return "cannot resolve the host name: check the URL and this machine's DNS";
        case 7:
            return "cannot connect to the server: check that it runs and is reachable from "
                   "this machine";
        case 28:
            return "the server did not answer in time: check that it is reachable";
        case 35:
        case 60:
            return "the TLS connection failed: check the server's certificate (and that "
                   "ca-certificates is installed)";
        default:
            return "check the URL and that the server is reachable from this machine";
    }
}

}  // namespace

std::string short_hash(std::string_view text) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
    std::string hex;
    for (unsigned int i = 0; i < 8 && i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
    return hex;
}

std::string git_revision_label(const GitSource& git) {
    auto [kind, value] = revision_of(git);
    return kind == "default" ? kind : kind + "-" + safe_name(value);
}

std::string describe_git_source(const GitSource& git) {
    auto [kind, value] = revision_of(git);
    if (kind == "default") return fmt::format("{} (default branch)", git.repo);
    return fmt::format("{} ({} {})", git.repo, kind, value);
}

std::filesystem::path git_clone_dir(const std::filesystem::path& root,
                                    std::string_view dataflow_stem, const GitSource& git) {
    return root / "out" / "git" / safe_name(dataflow_stem) /
           (repo_name(git.repo) + "-" + short_hash(git.repo)) / git_revision_label(git);
}

std::string dataflow_stem(const Descriptor& descriptor) {
    std::string stem = descriptor.source_file.stem().string();
    return stem.empty() ? "dataflow" : stem;
}

Result<std::filesystem::path> download_cache_root() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
        return std::filesystem::path(xdg) / "dora-cpp" / "downloads";
    }
    if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
        return std::filesystem::path(home) / ".cache" / "dora-cpp" / "downloads";
    }
    return fail(
        "no cache directory for downloaded nodes: set XDG_CACHE_HOME or HOME to an absolute "
        "path");
}

std::filesystem::path download_cache_file(const std::filesystem::path& cache_root,
                                          std::string_view url) {
    std::string_view rest = url;
    if (size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
        rest.remove_prefix(scheme + 3);
    }
    rest = rest.substr(0, rest.find_first_of("?#"));
    size_t slash = rest.find('/');
    std::string_view name;
    if (slash != std::string_view::npos) {
        std::string_view path = rest.substr(slash);
        name = path.substr(path.find_last_of('/') + 1);
    }
    std::string file = name.empty() ? std::string("node") : safe_name(name);
    return cache_root / short_hash(url) / file;
}

BuildRunner::Step git_checkout_step(const std::string& node_id, const GitSource& git,
                                    const std::filesystem::path& clone_dir) {
    auto [kind, value] = revision_of(git);
    BuildRunner::Step step;
    step.node_id = node_id;
    step.command = fmt::format("git checkout of {}", describe_git_source(git));
    step.working_dir = "/";  // the clone's parents may not exist yet; the script makes them
    step.argv = {"/bin/sh",  "-c",     kGitScript,
                 "dora-git", git.repo, std::filesystem::absolute(clone_dir).string(),
                 kind,       value};
    step.what = fmt::format("node {}: fetching {} into {}", node_id, describe_git_source(git),
                            clone_dir.string());
    step.hint = [git, clone_dir](int code) { return git_hint(git, clone_dir, code); };
    step.target = std::filesystem::absolute(clone_dir);
    return step;
}

BuildRunner::Step download_step(const std::string& node_id, const std::string& url,
                                const std::filesystem::path& file) {
    BuildRunner::Step step;
    step.node_id = node_id;
    step.command = fmt::format("download of {}", url);
    step.working_dir = "/";
    step.argv = {"/bin/sh", "-c", kDownloadScript, "dora-download", url, file.string()};
    step.what = fmt::format("node {}: downloading {} to {}", node_id, url, file.string());
    step.hint = [url, file](int code) { return download_hint(url, file, code); };
    step.target = file;
    return step;
}

SourcePlaces source_places(const std::filesystem::path& clone_root) {
    auto cache = download_cache_root();
    return {clone_root, cache ? *cache : std::filesystem::path()};
}

std::vector<BuildRunner::Step> plan_downloads(
    const Descriptor& descriptor, const std::function<bool(const NodeDescriptor&)>& is_local,
    const SourcePlaces& places) {
    std::vector<BuildRunner::Step> steps;
    std::set<std::string> planned;
    for (const auto& node : descriptor.nodes) {
        if (!is_url_path(node.path) || !is_local(node) || places.cache_root.empty()) continue;
        auto file = download_cache_file(places.cache_root, node.path);
        std::error_code ec;
        if (std::filesystem::is_regular_file(file, ec) || !planned.insert(node.path).second) {
            continue;
        }
        steps.push_back(download_step(node.id, node.path, file));
    }
    return steps;
}

std::vector<BuildRunner::Step> plan_build(
    const Descriptor& descriptor, const std::function<bool(const NodeDescriptor&)>& is_local,
    const SourcePlaces& places) {
    std::vector<BuildRunner::Step> steps = plan_downloads(descriptor, is_local, places);
    std::set<std::filesystem::path> clones;
    const std::string stem = dataflow_stem(descriptor);
    for (const auto& node : descriptor.nodes) {
        if (!is_local(node)) continue;
        std::filesystem::path dir = node_working_dir(descriptor, node);
        if (node.git) {
            dir = git_clone_dir(places.clone_root, stem, *node.git);
            if (clones.insert(dir).second)
                steps.push_back(git_checkout_step(node.id, *node.git, dir));
        }
        if (node.build) steps.push_back({node.id, *node.build, dir});
    }
    return steps;
}

namespace {

// A git node's file in its clone; bare names not in the clone stay for the PATH lookup.
void point_into_clone(NodeDescriptor& node, const std::filesystem::path& clone) {
    node.checkout_dir = clone;
    if (node.kind != NodeKind::kExecutable && node.kind != NodeKind::kPython) return;
    std::filesystem::path path(node.path);
    if (path.is_absolute()) return;
    std::filesystem::path in_clone = (clone / path).lexically_normal();
    std::error_code ec;
    if (std::filesystem::is_regular_file(in_clone, ec) ||
        node.path.find('/') != std::string::npos) {
        node.path = in_clone.string();
    }
}

}  // namespace

Result<> resolve_fetched_sources(Descriptor& descriptor,
                                 const std::function<bool(const NodeDescriptor&)>& is_local,
                                 const SourcePlaces& places) {
    std::string problems;
    const std::string stem = dataflow_stem(descriptor);
    for (auto& node : descriptor.nodes) {
        if (!is_local(node)) continue;
        std::error_code ec;
        if (node.git) {
            auto clone = git_clone_dir(places.clone_root, stem, *node.git);
            if (!std::filesystem::is_directory(clone / ".git", ec)) {
                problems += fmt::format(
                    "\nnode {}: its source {} has not been fetched on this machine (no clone at "
                    "{}): run `dora build` on the dataflow first",
                    node.id, describe_git_source(*node.git), clone.string());
                continue;
            }
            point_into_clone(node, clone);
        } else if (is_url_path(node.path)) {
            if (places.cache_root.empty()) {
                problems += fmt::format(
                    "\nnode {}: cannot download {}: no cache directory (set XDG_CACHE_HOME or "
                    "HOME to an absolute path)",
                    node.id, node.path);
                continue;
            }
            auto file = download_cache_file(places.cache_root, node.path);
            if (!std::filesystem::is_regular_file(file, ec)) {
                problems += fmt::format("\nnode {}: {} has not been downloaded to {}", node.id,
                                        node.path, file.string());
                continue;
            }
            node.path = file.string();
        }
    }
    if (!problems.empty()) return fail("the nodes' sources are missing:{}", problems);
    return {};
}

}  // namespace dora::daemon
