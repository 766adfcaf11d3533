# The Python ends of the lab's scenarios (python3 netlab.py MODE ...).
# Servers serve until killed; clients print one line and exit 0 on
# success, or print the exception on stderr and exit 1.
import json, socket, ssl, subprocess, sys, time

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

def firefox(profile, url, timeout):
    # Firefox ESR headless, driven by Marionette (its own remote protocol
    # on 127.0.0.1:2828 of the client's namespace: a length, a colon, then
    # JSON), so that the error Firefox shows can be read: on a
    # certificate error its page's security info names the NSS or
    # mozilla::pkix error. Prints "firefox: loaded URL title" and exits 0,
    # or prints the error on stderr and exits 1. SSLKEYLOGFILE comes from
    # the environment.
    p = subprocess.Popen(["firefox-esr", "--headless", "--marionette", "--no-remote", "--profile", profile],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    s = None
    while s is None and time.time() < deadline and p.poll() is None:
        try:
            s = socket.create_connection(("127.0.0.1", 2828), timeout=timeout)
        except OSError:
            time.sleep(0.2)
    if s is None:
        p.kill()
        log("firefox: Marionette did not listen (exit %s)" % p.poll())
        return 2
    buf = [b""]
    def recv():
        while b":" not in buf[0]:
            b = s.recv(65536)
            if not b:
                raise EOFError("Marionette closed")
            buf[0] += b
        n, _, rest = buf[0].partition(b":")
        n = int(n)
        while len(rest) < n:
            rest += s.recv(65536)
        buf[0] = rest[n:]
        return json.loads(rest[:n])
    ids = [0]
    def cmd(name, params):
        ids[0] += 1
        b = json.dumps([0, ids[0], name, params]).encode()
        s.sendall(str(len(b)).encode() + b":" + b)
        while True:
            m = recv()
            if m[0] == 1 and m[1] == ids[0]:
                return m[2], (m[3] or {}).get("value")
    def script(js):
        return cmd("WebDriver:ExecuteScript", {"script": js, "args": []})[1]
    rc = 1
    try:
        recv()  # Marionette's hello
        cmd("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": False}}})
        err, _ = cmd("WebDriver:Navigate", {"url": url})
        if err:
            # about:certerror's document knows the failed connection's
            # security info; about:neterror's its network error.
            info = script("try { const i = document.getFailedCertSecurityInfo(); return [i.errorCodeString, i.issuerCommonName] } catch (e) { return null }")
            net = script("try { return document.getNetErrorInfo().errorCodeString } catch (e) { return null }")
            page = script("return document.documentURI")
            if info:
                log("firefox: %s: %s (issuer %s; page %s)" % (err.get("error"), info[0], info[1], page))
            else:
                log("firefox: %s: %s %s (page %s)" % (err.get("error"), err.get("message"), net or "", page))
        else:
            title = cmd("WebDriver:GetTitle", {})[1]
            body = script("return document.body ? document.body.textContent.trim() : ''")
            print("firefox: loaded %s, title %r, body %r" % (url, title, body))
            rc = 0
        cmd("Marionette:Quit", {"flags": ["eForceQuit"]})
    except Exception as e:
        log("firefox: %s: %s" % (type(e).__name__, e))
        rc = 2
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
    return rc

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
    elif mode == "firefox":
        # profile url timeout
        sys.exit(firefox(args[0], args[1], float(args[2])))
    else:
        sys.exit("unknown mode " + mode)

main()
