# fuzz: values
