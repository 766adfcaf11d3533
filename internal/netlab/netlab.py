# The Python ends of the lab's scenarios (python3 netlab.py MODE ...).
# Servers serve until killed; clients print one line and exit 0 on
# success, or print the exception on stderr and exit 1.
import socket, ssl, sys, time

def listener(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(8)
    return s

def log(*a):
    print(*a, file=sys.stderr, flush=True)

def tls_server(port, chain, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(chain, key)
    ctx.num_tickets = 0  # no NewSessionTicket: one response, then close
    s = listener(port)
    while True:
        c, _ = s.accept()
        # As nginx, Go and Node do: without it Nagle holds back the short
        # last segment of the flight behind the unacknowledged full ones.
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.settimeout(5)
        try:
            t = ctx.wrap_socket(c, server_side=True)
            t.recv(4096)
            t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
            try:
                t.unwrap()  # close_notify; the client may just close
            except Exception:
                pass
            c.close()
            log("server: served one")
        except Exception as e:
            log("server: %s: %s" % (type(e).__name__, e))
            c.close()

def mtls_server(port, chain, key, ca):
    # TLS 1.3 with a client certificate required (and verified against
    # the lab's CA): the client's Certificate and CertificateVerify travel
    # encrypted in its second flight.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(chain, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.num_tickets = 0
    s = listener(port)
    while True:
        c, _ = s.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.settimeout(5)
        try:
            t = ctx.wrap_socket(c, server_side=True)
            t.recv(4096)
            who = dict(x[0] for x in t.getpeercert()["subject"]).get("commonName")
            t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
            try:
                t.unwrap()
            except Exception:
                pass
            c.close()
            log("server: served one to client certificate %r" % who)
        except Exception as e:
            log("server: %s: %s" % (type(e).__name__, e))
            c.close()

def silent_server(port):
    # Accepts and reads, never answers: the client waits for a ServerHello.
    s = listener(port)
    conns = []
    while True:
        c, _ = s.accept()
        c.recv(4096)
        conns.append(c)
        log("server: read the ClientHello, staying silent")

def http400_server(port):
    s = listener(port)
    while True:
        c, _ = s.accept()
        c.recv(4096)
        c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nBad Request\n")
        c.close()
        log("server: answered 400 and closed")

def fin_after_hello_server(port):
    # Reads the ClientHello, sends FIN, then reads whatever the client
    # says (an alert?) until it closes too.
    s = listener(port)
    while True:
        c, _ = s.accept()
        c.settimeout(3)
        hello = c.recv(4096)
        c.shutdown(socket.SHUT_WR)
        got = b""
        try:
            while True:
                b = c.recv(4096)
                if not b:
                    break
                got += b
        except Exception:
            pass
        c.close()
        log("server: read %d bytes of ClientHello, sent FIN, then got %s" % (len(hello), got.hex() or "nothing"))

def tls_client(host, port, timeout, sport, alpn, keylog=None, chain=None, key=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if keylog:
        ctx.keylog_filename = keylog  # NSS key log, never printed
    if chain:
        ctx.load_cert_chain(chain, key)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if sport:
        s.bind(("0.0.0.0", sport))
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        t = ctx.wrap_socket(s, server_hostname="shop.test")
        t.sendall(b"GET / HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            b = t.recv(4096)
            if not b:
                break
            data += b
        print("client: %s %s, %d bytes: %s" % (t.version(), t.cipher()[0], len(data), data.split(b"\r\n")[0].decode()))
        t.close()
        return 0
    except Exception as e:
        log("client: %s: %s" % (type(e).__name__, e))
        s.close()
        return 1

def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "tls-server":
        tls_server(int(args[0]), args[1], args[2])
    elif mode == "mtls-server":
        mtls_server(int(args[0]), args[1], args[2], args[3])
    elif mode == "silent-server":
        silent_server(int(args[0]))
    elif mode == "http400-server":
        http400_server(int(args[0]))
    elif mode == "fin-after-hello-server":
        fin_after_hello_server(int(args[0]))
    elif mode == "tls-client":
        # host port timeout sport [alpn...]
        sys.exit(tls_client(args[0], int(args[1]), float(args[2]), int(args[3]), args[4:]))
    elif mode == "keylog-client":
        # host port timeout sport keylog chain key: a client certificate,
        # and the key log written to keylog
        sys.exit(tls_client(args[0], int(args[1]), float(args[2]), int(args[3]), [], args[4], args[5], args[6]))
    else:
        sys.exit("unknown mode " + mode)

main()
