# Distribution packaging (.deb, .rpm).
