# The project's own tests check the plugin's behaviour in pytest sessions of their own (pytester).
pytest_plugins = ["pytester"]
