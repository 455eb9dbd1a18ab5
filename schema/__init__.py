"""The GraphQL layer: the engine that generates types from models (schema/generator, which imports
nothing of Sanji's), Sanji's policy and hooks for it, and the hand-written domain fields (schema/domain).
The schema itself is assembled in schema/build.py."""
