"""Creates the test CKAN's sysadmin and an API token in one CKAN process (scripts/ckan/start).

Does what `ckan user add`, `ckan sysadmin add` and `ckan user token add` do, through the same
actions, without loading CKAN three times. Run with CKAN's own Python after `ckan db init`:

    python bootstrap.py CKAN_INI USER EMAIL PASSWORD TOKEN_NAME

Prints the token on its last line.
"""

import sys

from ckan.cli import load_config
from ckan.config.middleware import make_app


def main(ini: str, name: str, email: str, password: str, token_name: str) -> None:
    app = make_app(load_config(ini))
    import ckan.logic as logic
    import ckan.model as model

    with app._wsgi_app.test_request_context():
        site_user = logic.get_action("get_site_user")({"ignore_auth": True}, {})
        context = {"user": site_user["name"], "ignore_auth": True}
        logic.get_action("user_create")(
            dict(context), {"name": name, "email": email, "password": password}
        )
        user = model.User.by_name(name)
        user.sysadmin = True
        model.repo.commit_and_remove()
        token = logic.get_action("api_token_create")(
            dict(context), {"user": name, "name": token_name}
        )["token"]
    print(token)


if __name__ == "__main__":
    main(*sys.argv[1:6])
