# fuzz: ditto
