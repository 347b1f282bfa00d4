"""WSGI entry point (Python 2.7 and 3) written by python-s2i's `run` (do not edit: rewritten on every start).

Loads the application named by the environment and serves static files in front of it, for
servers that cannot serve files themselves (gunicorn, waitress, hypercorn, granian):

    S2I_WSGI_MODULE=module:callable   an importable application
    S2I_WSGI_SCRIPT=/path/file        a WSGI script file (wsgi.py, wsgi/application) ...
    S2I_WSGI_CALLABLE=application     ... and the name of the application in it
    S2I_WSGI_PASTE=/path/paste.ini    a Paste Deploy configuration
    S2I_WSGI_STATIC=[["/static/", "/dir"], ...]   URL prefixes served from directories (JSON)
"""

import email.utils
import importlib
import json
import mimetypes
import os
import runpy
import stat


def _load():
    module = os.environ.get("S2I_WSGI_MODULE")
    if module:
        name, _, attr = module.partition(":")
        attr = attr or "application"
        factory = attr.endswith("()")
        obj = getattr(importlib.import_module(name), attr[:-2] if factory else attr)
        return obj() if factory else obj
    script = os.environ.get("S2I_WSGI_SCRIPT")
    if script:
        callable_name = os.environ.get("S2I_WSGI_CALLABLE", "application")
        namespace = runpy.run_path(script, run_name="_s2i_wsgi_script")
        return namespace[callable_name]
    paste = os.environ.get("S2I_WSGI_PASTE")
    if paste:
        from paste.deploy import loadapp

        return loadapp("config:" + os.path.abspath(paste))
    raise RuntimeError("python-s2i: no S2I_WSGI_MODULE, S2I_WSGI_SCRIPT or S2I_WSGI_PASTE set")


class StaticFiles:
    """Serves GET/HEAD for files under URL prefixes; everything else goes to the app."""

    def __init__(self, app, mappings):
        self.app = app
        self.mappings = [
            (url if url.endswith("/") else url + "/", os.path.realpath(directory))
            for url, directory in mappings
        ]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            for url, root in self.mappings:
                if path.startswith(url):
                    response = self._file(environ, start_response, root, path[len(url):])
                    if response is not None:
                        return response
        return self.app(environ, start_response)

    def _file(self, environ, start_response, root, relative):
        # No file name holds a NUL (the os functions raise ValueError or TypeError on one).
        if "\0" in relative:
            return None
        full = os.path.realpath(os.path.join(root, relative))
        if not full.startswith(root + os.sep):
            return None
        try:
            info = os.stat(full)
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        last_modified = email.utils.formatdate(info.st_mtime, usegmt=True)
        since = email.utils.parsedate_tz(environ.get("HTTP_IF_MODIFIED_SINCE") or "")
        if since is not None and int(info.st_mtime) <= email.utils.mktime_tz(since):
            start_response("304 Not Modified", [("Last-Modified", last_modified)])
            # One empty chunk, not an empty list: hypercorn only sends the status line when
            # the application yields something.
            return [b""]
        content_type, encoding = mimetypes.guess_type(full)
        if encoding:
            # A compressed file is sent as the file it is (bundle.tar.gz is a gzip file), not
            # with Content-Encoding, which clients undo (the download would be a .tar).
            content_type = _COMPRESSED.get(encoding)
        headers = [
            ("Content-Type", content_type or "application/octet-stream"),
            ("Content-Length", str(info.st_size)),
            ("Last-Modified", last_modified),
            ("Cache-Control", "public, max-age=3600"),
        ]
        start_response("200 OK", headers)
        if environ["REQUEST_METHOD"] == "HEAD":
            return [b""]
        handle = open(full, "rb")
        wrapper = environ.get("wsgi.file_wrapper")
        if wrapper:
            return wrapper(handle, 65536)
        return _FileChunks(handle)


# mimetypes' encodings, as the type of the compressed file itself.
_COMPRESSED = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}


class _FileChunks(object):
    """A file's content in chunks, closed by the server's call to close() (PEP 3333), for
    servers without wsgi.file_wrapper (hypercorn, granian)."""

    def __init__(self, handle):
        self.handle = handle

    def __iter__(self):
        return self

    def __next__(self):
        chunk = self.handle.read(65536)
        if not chunk:
            raise StopIteration
        return chunk

    next = __next__  # Python 2

    def close(self):
        self.handle.close()


def _build():
    app = _load()
    mappings = json.loads(os.environ.get("S2I_WSGI_STATIC") or "[]")
    return StaticFiles(app, mappings) if mappings else app


application = _build()
