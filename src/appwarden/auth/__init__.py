"""Users, roles, API tokens, sign-in and the authorization every route goes through."""
