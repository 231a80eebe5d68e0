"""Stand-in for the pip bootstrap script ansible-test downloads from its own CI host.

ansible-test creates its sanity virtual environments without pip and then runs
``python get_pip_<version>.py [pip options] pip==<version>`` from ``~/.ansible/test/cache``. That host
is out of reach here; this script does the same job from the package index pip already uses:
Python's bundled pip (ensurepip) installs the exact pip version asked for.
"""

import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

environment = dict(os.environ)
ensurepip.bootstrap(upgrade=True)  # sets PIP_CONFIG_FILE=/dev/null in this process; the install below must not
arguments = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *arguments], env=environment)
