# Written by python-s2i's assemble and run with the app's virtualenv Python (2.7 to 3.13).
# Prints one JSON object on stdout; errors go to stderr with a non-zero exit.
#
#   introspect.py django APP_DIR SETTINGS_MODULE  -> the settings run needs
#   introspect.py package SRC_DIR                 -> the distribution installed from SRC_DIR
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
    }


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


def main(argv):
    if len(argv) >= 3 and argv[0] == "django":
        result = django_facts(argv[1], argv[2])
    elif len(argv) >= 2 and argv[0] == "package":
        result = package_facts(argv[1])
    else:
        sys.stderr.write("usage: introspect.py django APP_DIR SETTINGS | package SRC_DIR\n")
        return 2
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
