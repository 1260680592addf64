"""A fault-injecting HTTPS proxy on loopback, between the controller and the API server.

The controller's kubeconfig points at ChaosProxy.url instead of the API
server. The proxy terminates TLS with the cluster's own apiserver.crt/key
(valid for 127.0.0.1 and signed by the cluster CA, so the controller verifies
it exactly as it verifies the API server) and opens a fresh TLS connection,
verified against the cluster CA, to the real API server for every request.
HTTP/1.1 only (ALPN offers nothing else), keep-alive towards the client.

It understands just enough HTTP to break things on purpose:

  cut_watch_probability   for each event of a watch stream (the upstream's
                          chunks, one JSON line each), the chance that the
                          stream is cut INSIDE that event: the client receives
                          the event's first k bytes (1 <= k < len, never at a
                          line boundary, so the client holds half a JSON line)
                          and the connection ends, alternately with a TCP RST
                          or a bare FIN (no TLS close_notify, no last chunk).
  block_watches           True: every live watch is cut at once and new watch
                          requests are answered by closing the connection (no
                          response), as if the network dropped them; every
                          other request passes. Or a predicate of the watch's
                          path (with its query): only the watches it accepts.
  hold_when(method, path) a predicate: a matching request is neither
                          forwarded nor answered until release(action) says
                          "drop" (close the client connection, never forward),
                          "forward" (forward it, answer normally) or
                          "forward_no_reply" (the API server gets it, the
                          client never learns the answer). wait_held() blocks
                          until a request is held and returns (method, path).

Counters (read them any time): requests (method -> n), watches, cuts (list of
(path, event bytes, bytes sent before the cut, "rst"|"fin")), refused (watch
requests closed while blocked), held, dropped.
"""

import random
import select
import socket
import ssl
import struct
import threading
import time
import urllib.parse

POLL_S = 0.2
MAX_HEADER = 64 * 1024


class _Closed(Exception):
    """The peer closed the connection (or the proxy decided to)."""


class _Reader:
    """Buffered reads from a (TLS) socket that give up when abort() says so."""

    def __init__(self, sock, abort):
        self.sock, self.abort, self.buf = sock, abort, b""

    def _fill(self):
        while True:
            if self.abort():
                raise _Closed("aborted")
            pending = self.sock.pending() if isinstance(self.sock, ssl.SSLSocket) else 0
            if not pending:
                r, _, _ = select.select([self.sock], [], [], POLL_S)
                if not r:
                    continue
            try:
                data = self.sock.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except (OSError, ssl.SSLError) as e:
                raise _Closed(str(e))
            if not data:
                raise _Closed("eof")
            self.buf += data
            return

    def readline(self, limit=MAX_HEADER):
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise _Closed("line too long")
            self._fill()
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def read(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_some(self):
        """What is buffered, or one recv; _Closed at EOF."""
        if not self.buf:
            self._fill()
        data, self.buf = self.buf, b""
        return data


def _read_head(reader):
    """Request/status line and headers: (first line, [(name, value)])."""
    first = reader.readline().rstrip(b"\r\n")
    while not first:          # tolerate stray CRLF between messages
        first = reader.readline().rstrip(b"\r\n")
    headers = []
    total = 0
    while True:
        line = reader.readline()
        total += len(line)
        if total > MAX_HEADER:
            raise _Closed("headers too long")
        line = line.rstrip(b"\r\n")
        if not line:
            return first.decode("latin-1"), headers
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))


def _header(headers, name):
    name = name.lower()
    for n, v in headers:
        if n.lower() == name:
            return v
    return None


def _hard_close(sock, rst):
    try:
        if rst:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class ChaosProxy:
    def __init__(self, upstream, cert_file, key_file, ca_file, seed=None):
        u = urllib.parse.urlparse(upstream)
        self.up_host, self.up_port = u.hostname, u.port or 443
        self.rng = random.Random(seed)
        self.server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_ctx.load_cert_chain(cert_file, key_file)
        self.server_ctx.set_alpn_protocols(["http/1.1"])
        self.client_ctx = ssl.create_default_context(cafile=ca_file)
        self.client_ctx.set_alpn_protocols(["http/1.1"])
        self.lock = threading.Lock()
        self.cut_watch_probability = 0.0
        self.block_watches = False
        self.hold_when = None
        self.requests = {}
        self.watches = 0
        self.cuts = []
        self.refused = 0
        self.held = 0
        self.dropped = 0
        self._held_q = []                 # [(method, path, threading.Event, [action])]
        self._held_cv = threading.Condition(self.lock)
        self._stopping = False
        self._threads = []
        self._clients = set()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.url = "https://127.0.0.1:%d" % self.port

    # ---- control ------------------------------------------------------------

    def start(self):
        t = threading.Thread(target=self._accept_loop, name="chaos-proxy", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stopping = True
        with self.lock:
            for _, _, ev, act in self._held_q:
                act.append("drop")
                ev.set()
            clients = list(self._clients)
        try:
            self.lsock.close()
        except OSError:
            pass
        for c in clients:
            _hard_close(c, rst=False)
        for t in self._threads:
            t.join(5)

    def wait_held(self, timeout):
        """Blocks until a request is held; returns (method, path) or None on timeout."""
        deadline = time.monotonic() + timeout
        with self._held_cv:
            while not self._held_q:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._held_cv.wait(left)
            m, p, _, _ = self._held_q[0]
            return m, p

    def release(self, action="drop"):
        """Decides the fate of every held request ("drop", "forward", "forward_no_reply")."""
        assert action in ("drop", "forward", "forward_no_reply"), action
        with self.lock:
            q, self._held_q = self._held_q, []
        for _, _, ev, act in q:
            act.append(action)
            ev.set()
        return len(q)

    def _blocked(self, path):
        b = self.block_watches
        return bool(b(path) if callable(b) else b)

    def stats(self):
        with self.lock:
            return {"requests": dict(self.requests), "watches": self.watches,
                    "cuts": len(self.cuts), "refused": self.refused, "held": self.held,
                    "dropped": self.dropped}

    # ---- plumbing -------------------------------------------------------------

    def _accept_loop(self):
        while not self._stopping:
            try:
                r, _, _ = select.select([self.lsock], [], [], POLL_S)
                if not r:
                    continue
                raw, _ = self.lsock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._client, args=(raw,), name="chaos-client", daemon=True)
            t.start()
            self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _count(self, method):
        with self.lock:
            self.requests[method] = self.requests.get(method, 0) + 1

    def _client(self, raw):
        raw.settimeout(10)
        try:
            conn = self.server_ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        conn.settimeout(None)
        conn.setblocking(True)
        with self.lock:
            self._clients.add(conn)
        reader = _Reader(conn, lambda: self._stopping)
        try:
            while not self._stopping:
                keep = self._one_request(conn, reader)
                if not keep:
                    break
        except _Closed:
            pass
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self.lock:
                self._clients.discard(conn)
            _hard_close(conn, rst=False)

    def _upstream(self):
        s = socket.create_connection((self.up_host, self.up_port), timeout=10)
        s = self.client_ctx.wrap_socket(s, server_hostname=self.up_host)
        s.settimeout(None)
        return s

    def _one_request(self, conn, reader):
        """Serves one request on the client connection; True to keep it open."""
        line, headers = _read_head(reader)
        method, _, rest = line.partition(" ")
        path = rest.rsplit(" ", 1)[0]
        n = int(_header(headers, "Content-Length") or 0)
        if (_header(headers, "Transfer-Encoding") or "").lower() == "chunked":
            return False      # curl sends Content-Length; anything else is not ours to handle
        body = reader.read(n) if n else b""
        self._count(method)
        q = urllib.parse.urlparse(path).query
        params = urllib.parse.parse_qs(q)
        is_watch = method == "GET" and params.get("watch", [""])[0] in ("1", "true")

        action = "forward"
        if is_watch and self._blocked(path):
            with self.lock:
                self.refused += 1
            return False
        pred = self.hold_when
        if pred is not None and pred(method, path):
            ev, act = threading.Event(), []
            with self._held_cv:
                self.held += 1
                self._held_q.append((method, path, ev, act))
                self._held_cv.notify_all()
            while not ev.wait(POLL_S):
                if self._stopping:
                    return False
            action = act[0]
            if action == "drop":
                with self.lock:
                    self.dropped += 1
                return False

        try:
            up = self._upstream()
        except (OSError, ssl.SSLError):
            return False      # API server down: the client sees the connection close
        try:
            fwd = [(k, v) for k, v in headers if k.lower() not in ("connection", "keep-alive")]
            fwd.append(("Connection", "close"))
            head = "%s\r\n%s\r\n" % (line, "".join("%s: %s\r\n" % kv for kv in fwd))
            up.sendall(head.encode("latin-1") + body)
            return self._relay_response(conn, up, method, path, is_watch,
                                        no_reply=(action == "forward_no_reply"))
        finally:
            _hard_close(up, rst=False)

    def _relay_response(self, conn, up, method, path, is_watch, no_reply):
        ureader = _Reader(up, lambda: self._stopping or (is_watch and self._blocked(path)))
        status_line, headers = _read_head(ureader)
        try:
            status = int(status_line.split(" ")[1])
        except (IndexError, ValueError):
            return False
        chunked = (_header(headers, "Transfer-Encoding") or "").lower() == "chunked"
        length = _header(headers, "Content-Length")
        no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
        if no_reply:
            # the API server got it; drain its answer, tell the client nothing
            try:
                if chunked:
                    self._dechunk(ureader, lambda d: None)
                elif length:
                    ureader.read(int(length))
            except _Closed:
                pass
            with self.lock:
                self.dropped += 1
            return False
        out = [(k, v) for k, v in headers if k.lower() not in ("connection", "keep-alive")]
        keep = no_body or chunked or length is not None
        if not keep:
            out.append(("Connection", "close"))
        conn.sendall(("%s\r\n%s\r\n" % (status_line, "".join("%s: %s\r\n" % kv for kv in out)))
                     .encode("latin-1"))
        if no_body:
            return True
        if chunked:
            if is_watch and 200 <= status < 300:
                with self.lock:
                    self.watches += 1
                return self._relay_watch(conn, ureader, path)
            self._dechunk(ureader, lambda d: conn.sendall(b"%x\r\n%s\r\n" % (len(d), d)))
            conn.sendall(b"0\r\n\r\n")
            return True
        if length is not None:
            left = int(length)
            while left > 0:
                d = ureader.read(min(left, 65536))
                conn.sendall(d)
                left -= len(d)
            return True
        try:
            while True:
                conn.sendall(ureader.read_some())
        except _Closed:
            pass
        return False

    @staticmethod
    def _dechunk(reader, emit):
        while True:
            size_line = reader.readline().strip()
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                while reader.readline().strip():
                    pass      # trailers
                return
            data = reader.read(size)
            reader.read(2)
            emit(data)

    def _relay_watch(self, conn, ureader, path):
        """Relays a watch stream event by event, cutting it when told to. False: closed."""
        pending = b""          # bytes of an event not yet complete (upstream split it)

        def cut(event, reason_rst=None):
            # first k bytes of this event, 1 <= k < len(event), never ending on a newline
            body = event.rstrip(b"\n")
            k = self.rng.randint(1, max(1, len(body) - 1))
            rst = self.rng.random() < 0.5 if reason_rst is None else reason_rst
            try:
                conn.sendall(b"%x\r\n%s\r\n" % (k, event[:k]))
            except OSError:
                pass
            with self.lock:
                self.cuts.append((path, len(event), k, "rst" if rst else "fin"))
            _hard_close(conn, rst)

        try:
            while True:
                size_line = ureader.readline().strip()
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    conn.sendall(b"0\r\n\r\n")
                    return True
                data = ureader.read(size)
                ureader.read(2)
                pending += data
                while b"\n" in pending:
                    i = pending.index(b"\n") + 1
                    event, pending = pending[:i], pending[i:]
                    if len(event.rstrip(b"\n")) >= 2 and self.rng.random() < self.cut_watch_probability:
                        cut(event)
                        return False
                    conn.sendall(b"%x\r\n%s\r\n" % (len(event), event))
        except _Closed:
            # block_watches (or the upstream went away): end it the hard way
            if self._blocked(path):
                with self.lock:
                    self.refused += 1
            _hard_close(conn, rst=True)
            return False
