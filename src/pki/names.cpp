// Certificate name checks (names.hpp).
#include "pki/names.hpp"

#include <arpa/inet.h>

#include <cctype>

namespace dora::pki {

namespace {

constexpr size_t kMaxName = 253;
constexpr size_t kMaxLabel = 63;

bool is_ip(const std::string& name) {
    unsigned char buffer[sizeof(in6_addr)];
    return inet_pton(AF_INET, name.c_str(), buffer) == 1 ||
           inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

bool label_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

// Checks one label of a DNS name; `label` is non-empty.
Result<> check_label(std::string_view name, std::string_view label) {
    if (label.size() > kMaxLabel) {
        return fail(
            "certificate name `{}`: the part `{}` has {} characters; at most {} are allowed", name,
            label, label.size(), kMaxLabel);
    }
    if (label.front() == '-' || label.back() == '-') {
        return fail("certificate name `{}`: the part `{}` starts or ends with `-`", name, label);
    }
    return {};
}

std::string printable(std::string_view name) {
    std::string out;
    for (char c : name) {
        if (std::isprint(static_cast<unsigned char>(c)) != 0) {
            out += c;
        } else {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        }
    }
    return out;
}

}  // namespace

std::string printable_name(std::string_view name) {
    return printable(name.substr(0, 80)) + (name.size() > 80 ? "..." : "");
}

Result<NameKind> check_name(std::string_view name) {
    const std::string shown = printable_name(name);
    if (name.empty()) {
        return fail(
            "the certificate name is empty: give a DNS name (e.g. `edge1` or "
            "`router.example.com`) or an IP address");
    }
    if (name.size() > kMaxName) {
        return fail("certificate name `{}` has {} characters; at most {} are allowed", shown,
                    name.size(), kMaxName);
    }
    if (is_ip(std::string(name))) {
        return NameKind::kIp;
    }
    for (char c : name) {
        if (c == '*') {
            return fail("certificate name `{}`: wildcards are not issued; name one host", shown);
        }
        if (c != '.' && !label_char(c)) {
            return fail(
                "certificate name `{}` contains `{}`: a name may contain letters, digits, `-`, "
                "`_` and `.` only (or be an IPv4/IPv6 address)",
                shown, printable(std::string_view(&c, 1)));
        }
    }
    size_t start = 0;
    std::string_view last;
    for (;;) {
        const size_t dot = name.find('.', start);
        const std::string_view label = name.substr(start, dot - start);
        if (label.empty()) {
            return fail(
                "certificate name `{}` has an empty part (a leading, trailing or doubled "
                "`.`)",
                shown);
        }
        if (auto ok = check_label(shown, label); !ok) return fail(ok.error());
        last = label;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    if (last.find_first_not_of("0123456789") == std::string_view::npos) {
        return fail(
            "certificate name `{}` looks like a number or an incomplete IP address; give "
            "a DNS name or a whole IPv4/IPv6 address",
            shown);
    }
    return NameKind::kDns;
}

}  // namespace dora::pki
