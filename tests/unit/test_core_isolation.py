import subprocess
import sys


def test_core_imports_without_prefect():
    code = (
        "import sys, pkgutil, importlib, regress_core\n"
        "for m in pkgutil.iter_modules(regress_core.__path__): importlib.import_module('regress_core.' + m.name)\n"
        "assert 'prefect' not in sys.modules, sorted(k for k in sys.modules if k.startswith('prefect'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
