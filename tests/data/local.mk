# Test data: shipped unconditionally (the tests using it may be disabled at configure time).
EXTRA_DIST += tests/data/config
