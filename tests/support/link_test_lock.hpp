#pragma once
// Link tests take turns: ctest runs tests in parallel processes, and a test that checks what its
// link left behind must not see another test's link. Every test that builds a link holds this
// lock (a flock on one file) for its whole run. The responder attack suite holds it too: its
// floods take both cores, and a link test's delay and rate bounds must not pay for them.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace nettool::test {

class link_test_lock {
public:
    link_test_lock() noexcept : fd_(::open("/tmp/nettool-link-tests.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
        if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~link_test_lock() {
        if (fd_ >= 0) ::close(fd_);
    }
    link_test_lock(const link_test_lock&) = delete;
    link_test_lock& operator=(const link_test_lock&) = delete;
    bool held() const noexcept { return fd_ >= 0; }

private:
    int fd_;
};

}  // namespace nettool::test
