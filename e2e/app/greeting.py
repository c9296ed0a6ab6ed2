TEXT = "first-party module"
