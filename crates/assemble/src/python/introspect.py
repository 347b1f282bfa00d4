# Written by python-s2i's assemble and run with the app's virtualenv Python (2.7 to 3.14).
# Prints one JSON object on stdout; errors go to stderr with a non-zero exit.
#
#   introspect.py django APP_DIR SETTINGS_MODULE  -> the settings run needs
#   introspect.py package SRC_DIR                 -> the distribution installed from SRC_DIR
#   introspect.py modules HOME FILE...            -> what each Python file defines (read with
#                                                    the ast module: the app's code is not run)
import ast
import json
import os
import sys


def django_facts(app_dir, settings_module):
    sys.path.insert(0, app_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django
    from django.conf import settings

    if hasattr(django, "setup"):
        django.setup()
    installed = list(getattr(settings, "INSTALLED_APPS", []))
    staticfiles = any(
        app == "django.contrib.staticfiles" or app.startswith("django.contrib.staticfiles.")
        for app in installed
    )

    def text(name):
        value = getattr(settings, name, None)
        if value is None or value == "":
            return None
        return str(value)

    return {
        "django_version": django.get_version(),
        "settings_module": settings_module,
        "wsgi_application": text("WSGI_APPLICATION"),
        "asgi_application": text("ASGI_APPLICATION"),
        "static_url": text("STATIC_URL"),
        "static_root": text("STATIC_ROOT"),
        "staticfiles_installed": staticfiles,
        "static_sources": static_sources(settings) if staticfiles else None,
    }


# The finders whose sources are directories: what they read is known without Django.
LISTED_FINDERS = (
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
)


def static_sources(settings):
    """The directories collectstatic reads (whether they exist or not), when every finder is
    one of Django's two directory finders and the storage writes files under STATIC_ROOT;
    else None (another finder or storage: assemble cannot tell what it reads or writes)."""
    try:
        from django.apps import apps
        from django.core.files.storage import FileSystemStorage
        from django.utils.module_loading import import_string

        finders = list(getattr(settings, "STATICFILES_FINDERS", []))
        storages = getattr(settings, "STORAGES", None) or {}
        backend = (storages.get("staticfiles") or {}).get("BACKEND") \
            or getattr(settings, "STATICFILES_STORAGE", None) \
            or "django.contrib.staticfiles.storage.StaticFilesStorage"
        if not issubclass(import_string(backend), FileSystemStorage):
            return None
        if any(f not in LISTED_FINDERS for f in finders):
            return None
        dirs = []
        if LISTED_FINDERS[0] in finders:
            for entry in getattr(settings, "STATICFILES_DIRS", []):
                path = entry[1] if isinstance(entry, (list, tuple)) else entry
                dirs.append(os.path.abspath(str(path)))
        if LISTED_FINDERS[1] in finders:
            for config in apps.get_app_configs():
                dirs.append(os.path.join(config.path, "static"))
        return dirs
    except Exception:  # noqa: BLE001 - any surprise only means "not reused"
        return None


def site_packages():
    import site
    dirs = []
    if hasattr(site, "getsitepackages"):
        dirs.extend(site.getsitepackages())
    dirs.extend(p for p in sys.path if p.endswith("site-packages"))
    seen = []
    for d in dirs:
        if os.path.isdir(d) and d not in seen:
            seen.append(d)
    return seen


def package_facts(src_dir):
    src_dir = os.path.realpath(src_dir)
    for sp in site_packages():
        for entry in sorted(os.listdir(sp)):
            if not entry.endswith(".dist-info"):
                continue
            info = os.path.join(sp, entry)
            direct = os.path.join(info, "direct_url.json")
            if not os.path.isfile(direct):
                continue
            with open(direct) as f:
                url = json.load(f).get("url", "")
            if not url.startswith("file://"):
                continue
            path = url[len("file://"):]
            try:
                from urllib.parse import unquote
            except ImportError:
                from urllib import unquote
            if os.path.realpath(unquote(path)) != src_dir:
                continue
            return {"name": metadata_name(info), "modules": top_level(sp, info)}
    return None


def metadata_name(info):
    with open(os.path.join(info, "METADATA")) as f:
        for line in f:
            if line.startswith("Name:"):
                return line.split(":", 1)[1].strip()
    return os.path.basename(info).split("-")[0]


def top_level(sp, info):
    listed = os.path.join(info, "top_level.txt")
    if os.path.isfile(listed):
        with open(listed) as f:
            return sorted(set(l.strip() for l in f if l.strip()))
    modules = set()
    record = os.path.join(info, "RECORD")
    if os.path.isfile(record):
        with open(record) as f:
            for line in f:
                path = line.split(",", 1)[0]
                first = path.split("/", 1)[0]
                if first.endswith((".dist-info", ".data", ".pth")) or first in ("..", "__pycache__", ""):
                    continue
                if "/" in path:
                    modules.add(first)
                elif first.endswith(".py"):
                    modules.add(first[:-3])
    return sorted(m for m in modules if not m.startswith("__editable__"))


# Top-level module of a framework -> the interface of its application objects. Submodules
# that change it are listed in SUBMODULE_INTERFACE.
FRAMEWORKS = {
    "fastapi": "asgi",
    "starlette": "asgi",
    "quart": "asgi",
    "litestar": "asgi",
    "sanic": "asgi",
    "flask": "wsgi",
    "bottle": "wsgi",
    "pyramid": "wsgi",
    "falcon": "wsgi",
    "werkzeug": "wsgi",
    "django": "wsgi",
}
SUBMODULE_INTERFACE = {
    "falcon.asgi": "asgi",
    "django.core.asgi": "asgi",
    "django.core.wsgi": "wsgi",
}
# Calls that create an application object, by the framework's top-level module.
CONSTRUCTORS = {
    "FastAPI": "fastapi",
    "Starlette": "starlette",
    "Quart": "quart",
    "Litestar": "litestar",
    "Sanic": "sanic",
    "Flask": "flask",
    "Bottle": "bottle",
    "App": "falcon",
    "API": "falcon",
    "get_wsgi_application": "django",
    "get_asgi_application": "django",
    "make_wsgi_app": "pyramid",
}
# `<object>.run()` of these frameworks starts their development server.
DEVELOPMENT_RUN = ("flask", "quart", "bottle")
# Names the factory conventions look for (Flask's `flask run`, gunicorn's `module:create_app()`).
FACTORIES = ("create_app", "make_app")


def dotted(node):
    """`a.b.c` of a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class Module(object):
    def __init__(self, tree):
        self.imports = {}  # local name -> dotted origin
        self.objects = []
        self.starts = []
        self.tree = tree

    def origin(self, name):
        """The imported dotted name a local dotted name refers to."""
        if name is None:
            return None
        head, _, rest = name.partition(".")
        base = self.imports.get(head)
        if base is None:
            return None
        return base + ("." + rest if rest else "")

    def framework_of_call(self, call):
        """The dotted origin of a call that creates an application object, else None."""
        if not isinstance(call, ast.Call):
            return None
        origin = self.origin(dotted(call.func)) or ""
        last = origin.rsplit(".", 1)[-1]
        top = origin.split(".", 1)[0]
        if CONSTRUCTORS.get(last) == top:
            return origin
        return None

    def interface(self, origin):
        for prefix, interface in SUBMODULE_INTERFACE.items():
            if origin == prefix or origin.startswith(prefix + "."):
                return interface
        if origin.endswith("get_asgi_application"):
            return "asgi"
        return FRAMEWORKS.get(origin.split(".", 1)[0])


def scan_imports(module, body):
    for node in body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".", 1)[0]
                module.imports[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                module.imports[alias.asname or alias.name] = node.module + "." + alias.name
        elif isinstance(node, (ast.If, ast.Try if hasattr(ast, "Try") else ast.If)):
            scan_imports(module, getattr(node, "body", []))
            scan_imports(module, getattr(node, "orelse", []))


def is_main_guard(node):
    test = getattr(node, "test", None)
    if not isinstance(test, ast.Compare) or not isinstance(test.left, ast.Name):
        return False
    return test.left.id == "__name__"


def server_calls(module, body, objects):
    """Calls that start a server: (call, kind) with kind development/own."""
    found = []
    for node in ast.walk(ast.Module(body=body)) if body else []:
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func) or ""
        head, _, attr = name.rpartition(".")
        if attr == "run" and head in objects:
            framework = objects[head]
            kind = "development" if framework.split(".", 1)[0] in DEVELOPMENT_RUN else "own"
            found.append({"call": name + "()", "kind": kind})
            continue
        origin = module.origin(name) or ""
        if origin in ("uvicorn.run", "hypercorn.asyncio.serve", "waitress.serve", "bjoern.run",
                      "aiohttp.web.run_app", "granian.Granian", "cheroot.wsgi.Server",
                      "wsgiref.simple_server.make_server", "http.server.HTTPServer",
                      "socketserver.TCPServer", "gevent.pywsgi.WSGIServer") \
                or attr in ("serve_forever", "run_app", "run_simple"):
            found.append({"call": (origin or name) + "()", "kind": "own"})
    return found


def module_facts(path):
    with open(path, "rb") as f:
        source = f.read()
    tree = ast.parse(source, path)
    module = Module(tree)
    scan_imports(module, tree.body)
    objects = {}
    result = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            framework = module.framework_of_call(node.value)
            for target in node.targets:
                if isinstance(target, ast.Name) and framework:
                    objects[target.id] = framework
                    result.append({"name": target.id, "kind": "object",
                                   "interface": module.interface(framework),
                                   "framework": framework.split(".", 1)[0]})
        elif isinstance(node, (ast.FunctionDef,) + ((ast.AsyncFunctionDef,) if hasattr(ast, "AsyncFunctionDef") else ())):
            if node.name in FACTORIES:
                frameworks = [module.framework_of_call(n) for n in ast.walk(node)]
                frameworks = [f for f in frameworks if f]
                if frameworks:
                    result.append({"name": node.name, "kind": "factory",
                                   "interface": module.interface(frameworks[0]),
                                   "framework": frameworks[0].split(".", 1)[0]})
            elif node.name in ("application", "app"):
                args = [a.arg if hasattr(a, "arg") else getattr(a, "id", "") for a in node.args.args]
                is_async = not isinstance(node, ast.FunctionDef)
                if args[:1] == ["scope"] or is_async:
                    interface = "asgi"
                elif args[:1] == ["environ"]:
                    interface = "wsgi"
                else:
                    continue
                result.append({"name": node.name, "kind": "callable",
                               "interface": interface, "framework": None})
    main_blocks = [n for n in tree.body if isinstance(n, ast.If) and is_main_guard(n)]
    top_level = [n for n in tree.body if not (isinstance(n, ast.If) and is_main_guard(n))
                 and not isinstance(n, (ast.FunctionDef, ast.ClassDef))
                 and not (hasattr(ast, "AsyncFunctionDef") and isinstance(n, ast.AsyncFunctionDef))]
    starts = []
    for block in main_blocks:
        for call in server_calls(module, block.body, objects):
            call["where"] = "main"
            starts.append(call)
    for call in server_calls(module, top_level, objects):
        call["where"] = "module"
        starts.append(call)
    frameworks = sorted(set(o.split(".", 1)[0] for o in module.imports.values()
                            if o.split(".", 1)[0] in FRAMEWORKS))
    return {"objects": result, "starts": starts, "frameworks": frameworks}


def modules_facts(home, files):
    found = []
    for rel in files:
        path = os.path.join(home, rel)
        if not os.path.isfile(path):
            continue
        entry = {"file": rel}
        try:
            entry.update(module_facts(path))
        except (SyntaxError, ValueError, UnicodeDecodeError) as e:
            entry["error"] = "%s: %s" % (type(e).__name__, e)
        found.append(entry)
    return found


def main(argv):
    if len(argv) >= 3 and argv[0] == "django":
        result = django_facts(argv[1], argv[2])
    elif len(argv) >= 2 and argv[0] == "package":
        result = package_facts(argv[1])
    elif len(argv) >= 2 and argv[0] == "modules":
        result = modules_facts(argv[1], argv[2:])
    else:
        sys.stderr.write("usage: introspect.py django APP_DIR SETTINGS | package SRC_DIR | modules HOME FILE...\n")
        return 2
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
