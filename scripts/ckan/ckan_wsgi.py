"""The WSGI entry point gunicorn serves for the real CKAN in the test suite (scripts/ckan/start).

The same few lines as the wsgi.py in CKAN's own source tree (not shipped in its wheel): the
config file comes from CKAN_INI.
"""

import os
from logging.config import fileConfig

from ckan.cli import CKANConfigLoader
from ckan.config.middleware import make_app

_ini = os.environ["CKAN_INI"]
fileConfig(_ini, disable_existing_loggers=False)
application = make_app(CKANConfigLoader(_ini).get_config())
