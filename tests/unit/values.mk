# unit tests: values
