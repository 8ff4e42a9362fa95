# Configuration, service unit, tmpfiles.
