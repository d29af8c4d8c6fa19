// The coordinator's cluster CA on disk: `<state dir>/ca.key` (the CA's private key, 0600) and
// `<state dir>/ca.crt` (its certificate), in a directory only this user may write (0700 when
// created here). Created on first use, loaded on every later one; coordinators starting at once
// on one directory agree on one CA (the directory is locked while it is opened).
//
// A key file other users may read, a directory others may write, a half-written pair (one file
// without the other), a key that does not match the certificate, or an expired CA: each refused
// with the file named and what to do.
//
// Thread safety: free functions.
#pragma once

#include <filesystem>

#include "core/error.hpp"
#include "pki/ca.hpp"

namespace dora::pki {

struct StoredCa {
    CertificateAuthority ca;
    bool created = false;  // true: made now; false: loaded
    std::filesystem::path key_path;
    std::filesystem::path cert_path;
};

[[nodiscard]] Result<StoredCa> open_ca(const std::filesystem::path& state_dir,
                                       const CaOptions& options = {});

}  // namespace dora::pki
