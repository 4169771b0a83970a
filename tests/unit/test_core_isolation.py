import subprocess
import sys


def test_core_imports_without_prefect():
    code = (
        "import sys, pkgutil, importlib, regress_core\n"
        "for m in pkgutil.walk_packages(regress_core.__path__, 'regress_core.'): importlib.import_module(m.name)\n"
        "assert 'prefect' not in sys.modules, sorted(k for k in sys.modules if k.startswith('prefect'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
