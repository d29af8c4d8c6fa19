// The cluster CA on disk (ca_store.hpp).
#include "pki/ca_store.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include "core/sys.hpp"
#include "pki/files.hpp"

namespace dora::pki {

namespace fs = std::filesystem;

namespace {

// Holds an exclusive lock on `<dir>/ca.lock` while it lives.
Result<sys::UniqueFd> lock_dir(const fs::path& dir) {
    const fs::path path = dir / "ca.lock";
    sys::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd.valid()) {
        return fail(sys::errno_error(
            fmt::format("cannot write in the coordinator's state directory ({})", path.string())));
    }
    while (::flock(fd.get(), LOCK_EX) != 0) {
        if (errno != EINTR) return fail(sys::errno_error("cannot lock " + path.string()));
    }
    return fd;
}

Result<CertificateAuthority> load(const fs::path& key_path, const fs::path& cert_path) {
    auto key = read_private_file(key_path);
    if (!key) return fail(key.error());
    auto cert = read_file(cert_path);
    if (!cert) return fail(cert.error());
    auto ca = CertificateAuthority::load(*key, *cert);
    if (!ca) {
        return fail(
            "the cluster CA in {} cannot be used: {}; move ca.key and ca.crt away to "
            "create a new CA (every certificate must then be issued again)",
            key_path.parent_path().string(), ca.error().message());
    }
    return ca;
}

Result<CertificateAuthority> create(const fs::path& key_path, const fs::path& cert_path,
                                    const CaOptions& options) {
    auto ca = CertificateAuthority::create(options);
    if (!ca) return fail(ca.error());
    auto key = ca->key_pem();
    if (!key) return fail(key.error());
    auto ok = write_file(key_path, *key, 0600, false).and_then([&] {
        return write_file(cert_path, ca->certificate_pem(), 0644, false);
    });
    if (!ok) {
        std::error_code ignored;
        fs::remove(key_path, ignored);  // never leave a key without its certificate
        return fail("cannot store the new cluster CA: {}", ok.error().message());
    }
    return ca;
}

}  // namespace

Result<StoredCa> open_ca(const fs::path& state_dir, const CaOptions& options) {
    if (auto ok = make_private_dir(state_dir); !ok) {
        return fail("the coordinator's state directory: {}", ok.error().message());
    }
    auto lock = lock_dir(state_dir);
    if (!lock) return fail(lock.error());
    const fs::path key_path = state_dir / "ca.key";
    const fs::path cert_path = state_dir / "ca.crt";
    std::error_code ec;
    const bool has_key = fs::exists(key_path, ec);
    const bool has_cert = fs::exists(cert_path, ec);
    if (has_key != has_cert) {
        return fail(
            "{} exists but {} does not: the cluster CA there is incomplete; restore the "
            "missing file, or move the other away to create a new CA",
            (has_key ? key_path : cert_path).string(), (has_key ? cert_path : key_path).string());
    }
    auto ca = has_key ? load(key_path, cert_path) : create(key_path, cert_path, options);
    if (!ca) return fail(ca.error());
    return StoredCa{std::move(*ca), !has_key, key_path, cert_path};
}

}  // namespace dora::pki
