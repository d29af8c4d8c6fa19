// Where a node's source comes from when it is not a file next to the dataflow: a git repository
// (`git:` with `branch:`, `tag:` or `rev:`) or an http(s) URL in `path:`.
//
// Git nodes are fetched by `dora build`, on the machine that runs the node: one clone per
// dataflow file, repository and revision, at
//   <root>/out/git/<dataflow file stem>/<repository name>-<hash of the URL>/<revision>
// where <root> is the dataflow file's directory (or, for a dataflow sent from another machine,
// `<daemon work dir>/build`). Nodes naming the same repository and revision share the clone. A
// clone is made in a temporary sibling directory and renamed into place only once its checkout
// succeeded, so an existing clone directory is always a good one; a later `dora build` fetches
// and checks out the revision again in place (a `rev` that is already there is not fetched).
// The node's `path` and `build` then resolve inside the clone, and it runs there.
//
// URL nodes are downloaded when the dataflow is started (as dora 0.3.12 does) or ahead by
// `dora build`, once, into `$XDG_CACHE_HOME/dora-cpp/downloads/<hash of the URL>/<file name>`
// (`~/.cache` without XDG_CACHE_HOME), through a temporary file renamed into place when complete,
// made executable.
//
// Both fetches run `git` / `curl` as child processes (BuildRunner steps), so the caller's event
// loop never waits for the network. Everything else here is pure path logic.
//
// Thread safety: pure functions (the step builders only build values).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/descriptor.hpp"
#include "daemon/build_runner.hpp"

namespace dora::daemon {

// The first 16 hex digits of SHA-256(text): stable cache and directory keys.
[[nodiscard]] std::string short_hash(std::string_view text);

// "branch-main", "tag-v1.0", "rev-1a2b3c", "default"; characters other than letters, digits,
// '.', '-' and '_' become '_' and then a hash of the original keeps names apart.
[[nodiscard]] std::string git_revision_label(const GitSource& git);

// "file:///srv/node.git (branch main)", for messages.
[[nodiscard]] std::string describe_git_source(const GitSource& git);

// <root>/out/git/<stem>/<repository name>-<hash>/<revision label>.
[[nodiscard]] std::filesystem::path git_clone_dir(const std::filesystem::path& root,
                                                  std::string_view dataflow_stem,
                                                  const GitSource& git);

// The dataflow file's stem ("dataflow" for an unnamed one), the per-dataflow key of clones.
[[nodiscard]] std::string dataflow_stem(const Descriptor& descriptor);

// $XDG_CACHE_HOME/dora-cpp/downloads, else $HOME/.cache/dora-cpp/downloads.
[[nodiscard]] Result<std::filesystem::path> download_cache_root();

// <cache root>/<short_hash(url)>/<the URL's last path segment, sanitized; "node" if none>.
[[nodiscard]] std::filesystem::path download_cache_file(const std::filesystem::path& cache_root,
                                                        std::string_view url);

// The step that clones (or updates) `git` into `clone_dir` and checks out its revision.
[[nodiscard]] BuildRunner::Step git_checkout_step(const std::string& node_id, const GitSource& git,
                                                  const std::filesystem::path& clone_dir);

// The step that downloads `url` into `file` (complete, executable) or leaves nothing there.
[[nodiscard]] BuildRunner::Step download_step(const std::string& node_id, const std::string& url,
                                              const std::filesystem::path& file);

// Where a dataflow's node sources live on this machine.
struct SourcePlaces {
    std::filesystem::path clone_root;  // <root> above
    std::filesystem::path cache_root;  // download cache; empty: no cache (URL nodes refused)
};

// `clone_root` with this machine's download cache (none when it has no cache directory).
[[nodiscard]] SourcePlaces source_places(const std::filesystem::path& clone_root);

// The steps of `dora build` for the nodes `is_local` accepts, in dataflow order: each git
// clone once (before the first node that needs it), downloads of URLs not yet cached (once
// each), then each node's `build` in its clone (git nodes) or working directory.
[[nodiscard]] std::vector<BuildRunner::Step> plan_build(
    const Descriptor& descriptor, const std::function<bool(const NodeDescriptor&)>& is_local,
    const SourcePlaces& places);

// The downloads a start needs: URL nodes accepted by `is_local` whose file is not cached.
[[nodiscard]] std::vector<BuildRunner::Step> plan_downloads(
    const Descriptor& descriptor, const std::function<bool(const NodeDescriptor&)>& is_local,
    const SourcePlaces& places);

// Points the local git and URL nodes at their fetched files: a git node's `path` becomes the
// file in its clone and `checkout_dir` the clone; a URL node's `path` the cached file. Fails,
// naming every node and its source, when a clone was never made (run `dora build`) or a
// download is missing.
[[nodiscard]] Result<> resolve_fetched_sources(
    Descriptor& descriptor, const std::function<bool(const NodeDescriptor&)>& is_local,
    const SourcePlaces& places);

}  // namespace dora::daemon
