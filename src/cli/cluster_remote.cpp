#include "cli/cluster_remote.hpp"

#include <charconv>
#include <sstream>

#include "cli/cluster_ssh.hpp"

namespace dora::cli {
namespace {

// Every script starts with the machine's dir (made absolute under $HOME when relative) and the
// helpers below. POSIX sh: the remote's /bin/sh may be dash.
constexpr const char* kHelpers = R"SH(
case "$D" in "~/"*) D="$HOME/${D#??}" ;; /*) ;; *) D="$HOME/$D" ;; esac
UNIT="dora-daemon-$ID.service"
USER_UNIT_DIR="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
# A session without pam_systemd (sshd with UsePAM no, su) has no XDG_RUNTIME_DIR, yet a user
# manager kept by lingering answers in /run/user/<uid>.
if [ -z "$XDG_RUNTIME_DIR" ] && [ "$(id -u)" != 0 ] && [ -d "/run/user/$(id -u)" ]; then
    export XDG_RUNTIME_DIR="/run/user/$(id -u)"
fi
systemd_scope() {
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then echo system
        elif systemctl --user show-environment >/dev/null 2>&1; then echo user
        else echo none; fi
    else echo none; fi
}
sc() { s=$1; shift; if [ "$s" = user ]; then systemctl --user "$@"; else systemctl "$@"; fi; }
supervisor_pid() {
    p=$(cat "$D/supervisor.pid" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q supervise.sh && echo "$p"
}
stop_supervisor() {
    kill -TERM "$1" 2>/dev/null
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 400 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$1" 2>/dev/null; then
        kill -KILL "$1" "$(cat "$D/daemon.pid" 2>/dev/null)" 2>/dev/null
    fi
    rm -f "$D/supervisor.pid" "$D/daemon.pid"
}
unit_file() {
    if [ "$(id -u)" = 0 ] && [ -f "/etc/systemd/system/$UNIT" ]; then
        echo "system /etc/systemd/system/$UNIT"
    elif [ -f "$USER_UNIT_DIR/$UNIT" ]; then echo "user $USER_UNIT_DIR/$UNIT"; fi
}
remove_unit() {
    u=$(unit_file)
    [ -n "$u" ] || return 1
    s=${u%% *}
    sc "$s" disable --now "$UNIT" >/dev/null 2>&1
    rm -f "${u#* }"
    sc "$s" daemon-reload >/dev/null 2>&1
    echo "removed=systemd unit ${u#* }"
}
)SH";

std::string prelude(const ClusterFile& file, const ClusterMachine& machine) {
    return fmt::format("D={}\nID={}\n", shell_quote(file.dir_of(machine)),
                       shell_quote(machine.id)) +
           kHelpers;
}

constexpr const char* kProbe = R"SH(
echo "dir=$D"
echo "arch=$(uname -m)"
if [ -f "$D/.dora-cluster" ]; then echo dir_state=ours
elif [ -e "$D" ] && { [ ! -d "$D" ] || [ -n "$(ls -A "$D" 2>/dev/null)" ]; }; then echo dir_state=foreign
else echo dir_state=missing; fi
if [ -f "$D/bundle.sha256" ] && (cd "$D" && sha256sum -c --quiet --strict bundle.sha256) >/dev/null 2>&1; then
    echo "bundle=$(sha256sum <"$D/bundle.sha256" | cut -d' ' -f1)"
fi
if p=$(command -v dora 2>/dev/null); then
    echo "path_dora=$p"
    echo "path_version=$("$p" --version 2>/dev/null | head -n 1)"
fi
if [ -f "$D/exe" ]; then echo "running_version=$("$(cat "$D/exe")" --version 2>/dev/null | head -n 1)"; fi
echo "systemd=$(systemd_scope)"
echo "user=$(id -un)"
if loginctl show-user "$(id -un)" -p Linger 2>/dev/null | grep -qx 'Linger=yes'; then echo linger=1; fi
u=$(unit_file)
if [ -n "$u" ]; then
    echo service=systemd
    sc "${u%% *}" is-active --quiet "$UNIT" 2>/dev/null && echo running=1
elif supervisor_pid >/dev/null; then
    echo service=process
    echo running=1
else
    echo service=none
fi
a=$D
while [ ! -d "$a" ]; do a=$(dirname "$a"); done
echo "free_kb=$(df -Pk "$a" 2>/dev/null | awk 'NR == 2 { print $4 }')"
)SH";

constexpr const char* kInstall = R"SH(
[ -e "$D" ] || created=1
mkdir -p "$D" || { echo "error=cannot create $D"; exit 1; }
[ -f "$D/.dora-cluster" ] || : >"$D/.dora-cluster"
inc="$D/.incoming.$$"
# A copy that fails leaves nothing: not the part unpacked, nor the dir when this made it.
trap 'rm -rf "$inc"; [ "$ok" = 1 ] || [ "$created" != 1 ] || rm -rf "$D"' EXIT
rm -rf "$inc"
mkdir "$inc" || { echo "error=cannot create $inc"; exit 1; }
one_line() { tail -n 3 | tr '\n' ' ' | sed 's/ *$//'; }
if ! out=$(tar -xf - -C "$inc" 2>&1); then echo "error=unpack: $(echo "$out" | one_line)"; exit 1; fi
if ! out=$(cd "$inc" && sha256sum -c --quiet --strict bundle.sha256 2>&1); then
    echo "error=checksum: $(echo "$out" | one_line)"
    exit 1
fi
if ! out=$("$inc/bin/dora" --version 2>&1); then echo "error=run: $(echo "$out" | one_line)"; exit 1; fi
for e in $(ls -A "$inc"); do
    rm -rf "${D:?}/$e"
    mv "$inc/$e" "$D/$e" || { echo "error=unpack: cannot move $e into $D"; exit 1; }
done
ok=1
echo ok
)SH";

constexpr const char* kApply = R"SH(
mkdir -p "$D/work" || { echo "error=cannot create $D"; exit 1; }
[ -f "$D/.dora-cluster" ] || : >"$D/.dora-cluster"
put() {
    printf '%s\n' "$2" >"$1.new" || { echo "error=cannot write $1"; exit 1; }
    if cmp -s "$1.new" "$1"; then rm -f "$1.new"; return 1; fi
    mv "$1.new" "$1" || { echo "error=cannot write $1"; exit 1; }
}
IFS= read -r TOKEN || true
[ -n "$TOKEN" ] || { echo "error=no cluster token arrived"; exit 1; }
umask 077
put "$D/token" "$TOKEN" && changed=1
chmod 600 "$D/token"
umask 022
put "$D/exe" "$EXE" && changed=1
put "$D/daemon.sh" "$DAEMON_SH" && changed=1
if [ "$SERVICE" = process ]; then
    remove_unit >/dev/null && changed=1
    put "$D/supervise.sh" "$SUPERVISE" && changed=1
    action=started
    if p=$(supervisor_pid); then
        [ "$changed" = 0 ] && { echo action=unchanged; exit 0; }
        stop_supervisor "$p"
        action=restarted
    fi
    rm -f "$D/supervisor.pid"
    setsid nohup sh "$D/supervise.sh" </dev/null >/dev/null 2>&1 &
    i=0
    while ! supervisor_pid >/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    supervisor_pid >/dev/null || { echo "error=the supervisor of the daemon did not start"; exit 1; }
    echo "action=$action"
    exit 0
fi
if p=$(supervisor_pid); then stop_supervisor "$p"; changed=1; fi
rm -f "$D/supervise.sh"
if [ "$SCOPE" = system ]; then udir=/etc/systemd/system; else udir=$USER_UNIT_DIR; fi
mkdir -p "$udir" || { echo "error=cannot create $udir"; exit 1; }
if put "$udir/$UNIT" "$UNIT_TEXT"; then
    changed=1
    sc "$SCOPE" daemon-reload || { echo "error=systemctl daemon-reload failed"; exit 1; }
fi
sc "$SCOPE" enable "$UNIT" >/dev/null 2>&1 || echo "warning=systemctl enable $UNIT failed: it will not start at boot"
if sc "$SCOPE" is-active --quiet "$UNIT"; then
    [ "$changed" = 0 ] && { echo action=unchanged; exit 0; }
    out=$(sc "$SCOPE" restart "$UNIT" 2>&1) || { echo "error=systemctl restart $UNIT: $out"; exit 1; }
    echo action=restarted
else
    out=$(sc "$SCOPE" start "$UNIT" 2>&1) || { echo "error=systemctl start $UNIT: $out"; exit 1; }
    echo action=started
fi
)SH";

constexpr const char* kDown = R"SH(
remove_unit
if p=$(supervisor_pid); then stop_supervisor "$p"; echo "stopped=supervised daemon (pid $p)"; fi
if [ -f "$D/.dora-cluster" ]; then
    rm -rf "$D" && echo "removed=$D"
    # The default dir's parents go too when nothing else is in them.
    case "$D" in "$HOME/.dora/cluster/"*) rmdir "$HOME/.dora/cluster" "$HOME/.dora" 2>/dev/null ;; esac
elif [ -e "$D" ]; then
    echo "kept=$D (not made by dora cluster up)"
fi
exit 0
)SH";

constexpr const char* kLogTail = R"SH(
tail -n 15 "$D/daemon.log" "$D/daemon.out" 2>/dev/null
exit 0
)SH";

constexpr const char* kSupervisor = R"SH(
echo $$ >"$D/supervisor.pid"
child=
stopping() {
    if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi
    rm -f "$D/supervisor.pid" "$D/daemon.pid"
    exit 0
}
trap stopping TERM INT HUP
delay=1
while :; do
    started=$(date +%s)
    sh "$D/daemon.sh" </dev/null >>"$D/daemon.out" 2>&1 &
    child=$!
    echo "$child" >"$D/daemon.pid"
    wait "$child"
    status=$?
    child=
    [ $(($(date +%s) - started)) -ge 60 ] && delay=1
    echo "$(date -u +%FT%TZ) supervisor: the daemon exited with status $status; starting it again in $delay s" >>"$D/daemon.out"
    sleep "$delay" &
    wait $!
    delay=$((delay * 2))
    [ $delay -gt 30 ] && delay=30
done
)SH";

// A value for a systemd unit line: `%`, `\` and `"` escaped, in double quotes.
std::string unit_quote(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '%') {
            out += "%%";
        } else if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

}  // namespace

std::string probe_script(const ClusterFile& file, const ClusterMachine& machine) {
    return prelude(file, machine) + kProbe;
}

Result<Probe> parse_probe(const std::string& output) {
    Probe probe;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        const size_t eq = line.find('=');
        if (eq == std::string::npos) continue;
        const std::string key = line.substr(0, eq);
        const std::string value = line.substr(eq + 1);
        static const std::pair<const char*, std::string Probe::*> kTexts[] = {
            {"dir", &Probe::dir},
            {"arch", &Probe::arch},
            {"dir_state", &Probe::dir_state},
            {"bundle", &Probe::bundle},
            {"path_dora", &Probe::path_dora},
            {"path_version", &Probe::path_version},
            {"running_version", &Probe::running_version},
            {"systemd", &Probe::systemd},
            {"service", &Probe::service},
            {"user", &Probe::user},
        };
        for (const auto& [name, field] : kTexts) {
            if (key == name) probe.*field = value;
        }
        if (key == "running") {
            probe.running = value == "1";
        } else if (key == "linger") {
            probe.linger = value == "1";
        } else if (key == "free_kb" && !value.empty()) {
            uint64_t kb = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), kb);
            if (ec == std::errc() && end == value.data() + value.size())
                probe.free_bytes = kb * 1024;
        }
    }
    if (probe.dir.empty() || probe.arch.empty() || probe.dir_state.empty()) {
        return fail("its shell did not answer the probe (is /bin/sh a POSIX shell there?): {}",
                    output.substr(0, 300));
    }
    return probe;
}

std::string install_script(const ClusterFile& file, const ClusterMachine& machine) {
    return prelude(file, machine) + kInstall;
}

std::string daemon_script(const ClusterFile& file, const ClusterMachine& machine,
                          const std::string& dir, const std::string& exe) {
    std::string text = fmt::format(
        "#!/bin/sh\n# The dora daemon of machine `{}`, written by `dora cluster up`; `dora cluster "
        "down` removes it.\n",
        machine.id);
    for (const auto& [name, value] : machine.env) {
        text += fmt::format("export {}={}\n", name, shell_quote(value));
    }
    text += fmt::format(
        "exec {} daemon --machine-id {} --coordinator-addr {} --coordinator-port {} "
        "--local-listen-port {} --token-file {} --work-dir {} --quiet --log-file {}",
        shell_quote(exe), shell_quote(machine.id), shell_quote(file.coordinator_addr),
        file.coordinator_port, machine.daemon_port, shell_quote(dir + "/token"),
        shell_quote(dir + "/work"), shell_quote(dir + "/daemon.log"));
    std::string labels;
    for (const auto& [name, value] : machine.labels) {
        labels += (labels.empty() ? "" : ",") + name + "=" + value;
    }
    if (!labels.empty()) text += " --labels " + shell_quote(labels);
    return text;
}

std::string unit_text(const ClusterMachine& machine, const std::string& dir,
                      const std::string& scope) {
    return fmt::format(
        "[Unit]\n"
        "Description=dora-cpp daemon of machine {} (from dora cluster up)\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        "ExecStart=/bin/sh {}\n"
        "# Stopping the daemon stops its nodes (STOP, then a kill after the grace period).\n"
        "KillMode=mixed\n"
        "TimeoutStopSec=30\n"
        "Restart=on-failure\n"
        "RestartSec=2\n"
        "\n"
        "[Install]\n"
        "WantedBy={}",
        machine.id, unit_quote(dir + "/daemon.sh"),
        scope == "user" ? "default.target" : "multi-user.target");
}

std::string supervisor_script(const ClusterMachine& machine, const std::string& dir) {
    return fmt::format(
               "#!/bin/sh\n# Keeps the dora daemon of machine `{}` running (restarted when it "
               "exits); written by `dora cluster up`, stopped and removed by `dora cluster "
               "down`.\nD={}\n",
               machine.id, shell_quote(dir)) +
           kSupervisor;
}

std::string apply_script(const ClusterFile& file, const ClusterMachine& machine,
                         const std::string& dir, const LaunchPlan& plan) {
    std::string vars = fmt::format("changed={}\nEXE={}\nSERVICE={}\nSCOPE={}\nDAEMON_SH={}\n",
                                   plan.restart ? 1 : 0, shell_quote(plan.exe),
                                   shell_quote(plan.service), shell_quote(plan.systemd_scope),
                                   shell_quote(daemon_script(file, machine, dir, plan.exe)));
    if (plan.service == "process") {
        vars += "SUPERVISE=" + shell_quote(supervisor_script(machine, dir)) + "\n";
    } else {
        vars += "UNIT_TEXT=" + shell_quote(unit_text(machine, dir, plan.systemd_scope)) + "\n";
    }
    return prelude(file, machine) + vars + kApply;
}

std::string down_script(const ClusterFile& file, const ClusterMachine& machine) {
    return prelude(file, machine) + kDown;
}

std::string log_tail_script(const ClusterFile& file, const ClusterMachine& machine) {
    return prelude(file, machine) + kLogTail;
}

std::string script_errors(const std::string& output) {
    std::string errors;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.starts_with("error=")) errors += (errors.empty() ? "" : "; ") + line.substr(6);
    }
    return errors;
}

std::string script_value(const std::string& output, std::string_view key) {
    std::istringstream lines(output);
    std::string line;
    const std::string prefix = std::string(key) + "=";
    while (std::getline(lines, line)) {
        if (line.starts_with(prefix)) return line.substr(prefix.size());
    }
    return {};
}

}  // namespace dora::cli
