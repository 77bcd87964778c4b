"""The Faker-driven change simulator for the sandbox's customer database."""
