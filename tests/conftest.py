pytest_plugins = ["tests.lark_fake.fixtures"]
