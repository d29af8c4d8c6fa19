"""A TCP relay between dora processes and a coordinator's port, for control_tls_test.sh.

    control_proxy.py record TARGET_PORT PORT_FILE LOG   relays every connection to
        127.0.0.1:TARGET_PORT unchanged and appends every byte it saw, both ways, to LOG
        (what an eavesdropper on the link reads).
    control_proxy.py mitm TARGET_PORT PORT_FILE LOG CERT KEY   a party in the middle: relays the
        coordinator's plain challenge, then runs one TLS session with the client (its own
        certificate) and one with the coordinator, and relays the client's hello and the
        coordinator's answer between them; writes what happened to LOG.

It listens on a free loopback port and writes it to PORT_FILE; it runs until killed.
"""
import socket
import ssl
import struct
import sys
import threading

mode, target_port, port_file, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()


def log_bytes(data):
    with lock, open(log_path, "ab") as f:
        f.write(data)


def log_line(text):
    log_bytes((text + "\n").encode())


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            log_bytes(data)
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def read_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise EOFError("closed")
        out += chunk
    return out


def read_frame(sock):
    header = read_exact(sock, 4)
    return header + read_exact(sock, struct.unpack("<I", header)[0])


def record(client):
    target = socket.create_connection(("127.0.0.1", target_port))
    threading.Thread(target=pump, args=(client, target), daemon=True).start()
    threading.Thread(target=pump, args=(target, client), daemon=True).start()


def mitm(client, cert, key):
    try:
        target = socket.create_connection(("127.0.0.1", target_port))
        client.sendall(read_frame(target))  # the challenge, plain
        server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_side.load_cert_chain(cert, key)
        client_side = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_side.check_hostname = False
        client_side.verify_mode = ssl.CERT_NONE
        to_client = server_side.wrap_socket(client, server_side=True)
        to_target = client_side.wrap_socket(target)
        log_line("mitm: TLS with both sides")
        to_target.sendall(read_frame(to_client))  # the client's hello
        log_line("mitm: relayed the hello")
        answer = read_frame(to_target)
        log_line("mitm: the coordinator answered: " + answer[4:].decode(errors="replace"))
        to_client.sendall(answer)
        to_client.close()
        to_target.close()
    except (OSError, EOFError, ssl.SSLError) as e:
        log_line(f"mitm: {type(e).__name__}: {e}")


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    while True:
        client, _ = listener.accept()
        if mode == "record":
            record(client)
        else:
            threading.Thread(target=mitm, args=(client, sys.argv[5], sys.argv[6]),
                             daemon=True).start()


main()
