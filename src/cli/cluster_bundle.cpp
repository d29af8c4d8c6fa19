#include "cli/cluster_bundle.hpp"

#include <openssl/evp.h>
#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <vector>

#include "cli/cluster_ssh.hpp"
#include "daemon/python_env.hpp"

namespace dora::cli {
namespace {

std::string hex(const unsigned char* data, unsigned size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < size; ++i) {
        out += kDigits[data[i] >> 4];
        out += kDigits[data[i] & 15];
    }
    return out;
}

// Links `stage/rel` to `target` (making the parents).
Result<> link_into(const std::filesystem::path& stage, const std::filesystem::path& rel,
                   const std::filesystem::path& target) {
    std::error_code ec;
    std::filesystem::create_directories((stage / rel).parent_path(), ec);
    if (!ec) std::filesystem::create_symlink(target, stage / rel, ec);
    if (ec) return fail("staging {}: {}", target.string(), ec.message());
    return {};
}

// `sha256  ./relative/path` lines (sha256sum's format) of every file under `stage`, following
// its links, without Python's caches (they change whenever Python runs).
Result<std::string> list_files(const std::filesystem::path& stage, uint64_t& bytes) {
    std::vector<std::string> lines;
    std::error_code ec;
    auto options = std::filesystem::directory_options::follow_directory_symlink;
    for (auto it = std::filesystem::recursive_directory_iterator(stage, options, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->path().filename() == "__pycache__") {
            it.disable_recursion_pending();
            continue;
        }
        if (!it->is_regular_file()) continue;
        auto hash = sha256_file(it->path());
        if (!hash) return fail(hash.error());
        bytes += it->file_size();
        lines.push_back(*hash + "  ./" + it->path().lexically_relative(stage).string());
    }
    if (ec) return fail("listing {}: {}", stage.string(), ec.message());
    std::sort(lines.begin(), lines.end(), [](const std::string& a, const std::string& b) {
        return a.substr(66) < b.substr(66);
    });
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return text;
}

}  // namespace

Result<std::string> sha256_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail("cannot read {}", file.string());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    std::array<char, 65536> buffer{};
    while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
        EVP_DigestUpdate(ctx, buffer.data(), static_cast<size_t>(in.gcount()));
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned size = 0;
    EVP_DigestFinal_ex(ctx, digest.data(), &size);
    EVP_MD_CTX_free(ctx);
    return hex(digest.data(), size);
}

std::string sha256_text(std::string_view text) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned size = 0;
    EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
    return hex(digest.data(), size);
}

std::string local_arch() {
    utsname name{};
    return ::uname(&name) == 0 ? name.machine : "unknown";
}

Result<Bundle> Bundle::describe() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return fail("cannot find this dora executable: {}", ec.message());
    char pattern[] = "/tmp/dora-cluster-bundle.XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return fail("cannot make a temporary dir in /tmp");
    Bundle bundle;
    bundle.stage_ = std::filesystem::path(pattern) / "stage";
    if (auto ok = link_into(bundle.stage_, "bin/dora", exe); !ok) return fail(ok.error());
    const std::filesystem::path runtime = daemon::dora_runtime_path();
    if (std::filesystem::exists(runtime)) {
        if (auto ok = link_into(bundle.stage_, "bin/dora-runtime", runtime); !ok) {
            return fail(ok.error());
        }
    }
    const std::filesystem::path python = daemon::dora_python_path();
    if (std::filesystem::exists(python / "dora" / "__init__.py")) {
        const auto rel =
            (std::filesystem::path("bin") / DORA_PYTHON_INSTALL_RELATIVE).lexically_normal();
        if (auto ok = link_into(bundle.stage_, rel / "dora", python / "dora"); !ok) {
            return fail(ok.error());
        }
    }
    auto list = list_files(bundle.stage_, bundle.bytes_);
    if (!list) return fail(list.error());
    std::ofstream(bundle.stage_ / "bundle.sha256") << *list;
    bundle.id_ = sha256_text(*list);
    return bundle;
}

Bundle::Bundle(Bundle&& other) noexcept
    : stage_(std::move(other.stage_)),
      id_(std::move(other.id_)),
      bytes_(other.bytes_),
      packed_(other.packed_) {
    other.stage_.clear();
}

Bundle::~Bundle() {
    if (stage_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(stage_.parent_path(), ec);
}

Result<std::filesystem::path> Bundle::tar() {
    const auto file = stage_.parent_path() / "bundle.tar";
    if (packed_) return file;
    auto out = run_command({"tar", "--create", "--dereference", "--exclude=__pycache__", "--file",
                            file.string(), "-C", stage_.string(), "."},
                           "", "", std::chrono::seconds(300));
    if (!out) return fail(out.error().context("packing the files to copy"));
    if (out->exit_code != 0) {
        return fail(
            "packing the files to copy failed (a file changed while it was read? run "
            "`dora cluster up` again): {}",
            out->err);
    }
    packed_ = true;
    return file;
}

}  // namespace dora::cli
