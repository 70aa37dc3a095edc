# Thin convenience layer over build.sh (make itself may be missing on a fresh Debian; build.sh is not).
.PHONY: run test build format
run:
	./build.sh run
test:
	./build.sh test
build:
	./build.sh build
format:
	find lib tools tests bench fuzz -name '*.[ch]pp' | xargs clang-format -i
