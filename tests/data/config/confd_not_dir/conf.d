conf.d must be a directory; this is a file.
