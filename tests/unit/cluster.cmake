# The cluster's unit tests: the IPC channel over socketpairs.
herd_test(channel_test channel_test.cc)
