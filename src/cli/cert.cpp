// `dora cert issue NAME [--alt-name N]... [--out DIR] [--days N] [--force]`: a certificate of the
// cluster CA for NAME. The private key is made here and never leaves this machine: only its
// signing request goes to the coordinator, which must have a cluster token (and so a CA). Writes
// NAME.key (0600), NAME.crt and ca.crt into DIR and prints the Zenoh configuration that uses them
// (zenohd's json5 keys, and zenoh-pico's config keys).
// `dora cert ca [--out FILE] [--force]`: the cluster CA's certificate, printed or written.
#include <filesystem>
#include <iostream>

#include "cli/cluster_tls.hpp"
#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "message/cli_to_coordinator.hpp"
#include "pki/ca.hpp"
#include "pki/certificate.hpp"
#include "pki/files.hpp"
#include "pki/names.hpp"

namespace dora::cli {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kReplyTimeout = 15s;

struct IssueOptions {
    ClientOptions client;
    std::string name;
    std::vector<std::string> alt_names;
    std::string out = ".";
    int days = 0;  // 0: the coordinator's default
    bool force = false;
};

struct CaCliOptions {
    ClientOptions client;
    std::string out;  // "" = stdout
    bool force = false;
};

struct Paths {
    fs::path dir, key, cert, ca;
};

// The files `dora cert issue` writes, refused up front when one exists (without --force). The
// directory is made only once there is something to write (make_out_dir).
Paths output_paths(const IssueOptions& options) {
    const fs::path dir = fs::absolute(options.out).lexically_normal();
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
        throw Exception(Error::make("--out {}: not a directory", dir.string()));
    }
    Paths paths{dir, dir / (options.name + ".key"), dir / (options.name + ".crt"), dir / "ca.crt"};
    for (const auto& path : {paths.key, paths.cert, paths.ca}) {
        if (!options.force && fs::exists(path, ec)) {
            throw Exception(Error::make(
                "{} exists already: remove it, choose another --out directory, or use --force to "
                "overwrite it",
                path.string()));
        }
    }
    return paths;
}

void print_zenoh_config(const Paths& paths) {
    std::cout << fmt::format(
        R"(
Zenoh configuration (zenohd --config FILE, or ZENOH_CONFIG=FILE) for TLS with mutual
authentication under the cluster CA (listen and connect on tls/HOST:PORT locators):

{{
  transport: {{
    link: {{
      tls: {{
        root_ca_certificate: "{0}",
        listen_certificate: "{1}",
        listen_private_key: "{2}",
        connect_certificate: "{1}",
        connect_private_key: "{2}",
        enable_mtls: true,
        // verify_name_on_connect (default true): the HOST of each tls/HOST:PORT you connect to
        // must be among the certificate names of the peer there (dora cert issue --alt-name).
      }},
    }},
  }},
}}

zenoh-pico (Z_FEATURE_LINK_TLS=1):
  zp_config_insert(z_loan_mut(config), Z_CONFIG_TLS_ROOT_CA_CERTIFICATE_KEY, "{0}");
  zp_config_insert(z_loan_mut(config), Z_CONFIG_TLS_CONNECT_CERTIFICATE_KEY, "{1}");
  zp_config_insert(z_loan_mut(config), Z_CONFIG_TLS_CONNECT_PRIVATE_KEY_KEY, "{2}");
  zp_config_insert(z_loan_mut(config), Z_CONFIG_TLS_LISTEN_CERTIFICATE_KEY, "{1}");
  zp_config_insert(z_loan_mut(config), Z_CONFIG_TLS_LISTEN_PRIVATE_KEY_KEY, "{2}");
  zp_config_insert(z_loan_mut(config), Z_CONFIG_TLS_ENABLE_MTLS_KEY, "true");
)",
        paths.ca.string(), paths.cert.string(), paths.key.string());
}

void run_issue(const IssueOptions& options) {
    or_throw(pki::check_name(options.name));
    for (const auto& alt : options.alt_names) {
        or_throw(pki::check_name(alt));
    }
    const Paths paths = output_paths(options);
    // Checked (our key, NAME, the CA it sent) before anything is written.
    auto issued =
        issue_cluster_certificate(options.client, {options.name, options.alt_names, options.days});
    if (!issued) {
        throw Exception(Error::make("{}; nothing was written", issued.error().message()));
    }
    std::error_code ec;
    fs::create_directories(paths.dir, ec);
    if (ec || !fs::is_directory(paths.dir)) {
        throw Exception(Error::make("--out {}: cannot create the directory{}", paths.dir.string(),
                                    ec ? ": " + ec.message() : std::string()));
    }
    or_throw(pki::write_file(paths.key, issued->key_pem, 0600, options.force));
    or_throw(pki::write_file(paths.cert, issued->certificate_pem, 0644, options.force));
    or_throw(pki::write_file(paths.ca, issued->ca_pem, 0644, options.force));
    std::cout << fmt::format(
        "certificate for `{}` issued by the cluster CA: serial {}, valid until {} (renew after "
        "{})\n  {} (private key, mode 0600: keep it on this machine)\n  {}\n  {} (the cluster "
        "CA)\n",
        options.name, issued->serial, pki::utc_text(issued->not_after),
        pki::utc_text(pki::renewal_time(issued->not_before, issued->not_after)), paths.key.string(),
        paths.cert.string(), paths.ca.string());
    print_zenoh_config(paths);
}

void run_ca(const CaCliOptions& options) {
    auto client = connect_or_throw(options.client);
    auto ca = or_throw(
        client.request<message::CaCertificate>(message::CliCaCertificate{}, kReplyTimeout));
    if (options.out.empty()) {
        std::cout << ca.ca_pem;
        return;
    }
    or_throw(pki::write_file(options.out, ca.ca_pem, 0644, options.force));
    std::cout << fmt::format("cluster CA certificate (valid until {}) written to {}\n",
                             pki::utc_text(ca.not_after), options.out);
}

}  // namespace

void add_cert_command(CLI::App& app) {
    auto* cmd =
        app.add_subcommand("cert", "Certificates of the cluster CA (needs a cluster token)");
    cmd->require_subcommand(1);

    auto issue = std::make_shared<IssueOptions>();
    auto* issue_cmd = cmd->add_subcommand(
        "issue", "Make a key here and get a certificate for it from the coordinator's cluster CA");
    issue_cmd->add_option("NAME", issue->name, "Name (DNS name or IP address) to certify")
        ->required();
    issue_cmd->add_option("--alt-name", issue->alt_names,
                          "Another DNS name or IP address for the certificate (repeatable)");
    issue_cmd->add_option("--out", issue->out, "Directory to write NAME.key, NAME.crt, ca.crt")
        ->capture_default_str();
    issue_cmd
        ->add_option("--days", issue->days,
                     "Validity in days (default: the coordinator's, 30 unless it says otherwise)")
        ->check(CLI::Range(1, pki::kMaxCertificateDays));
    issue_cmd->add_flag("--force", issue->force, "Overwrite existing files");
    add_client_options(issue_cmd, issue->client);
    issue_cmd->callback([issue] { run_issue(*issue); });

    auto ca = std::make_shared<CaCliOptions>();
    auto* ca_cmd = cmd->add_subcommand("ca", "Print (or write) the cluster CA's certificate");
    ca_cmd->add_option("--out", ca->out, "Write it to this file instead of printing it");
    ca_cmd->add_flag("--force", ca->force, "Overwrite an existing file");
    add_client_options(ca_cmd, ca->client);
    ca_cmd->callback([ca] { run_ca(*ca); });
}

}  // namespace dora::cli
