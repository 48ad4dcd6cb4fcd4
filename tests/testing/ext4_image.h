// A real disk error, made to order: a 48 MiB ext4 image loop-mounted with errors=remount-ro,
// failed through ext4's own trigger_fs_error (the filesystem then refuses every write until it is
// unmounted and checked, as after a real disk error) and repaired the way an operator would
// (unmount, e2fsck, mount again). Needs root, loop devices, e2fsprogs and /sys/fs/ext4; Mount()
// says why not otherwise, so the test can skip. Header-only.
#pragma once

#include <sys/mount.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace cir::testing {

class Ext4Image {
 public:
  // The image is `image`; it is mounted at `mount_point` (created).
  Ext4Image(std::filesystem::path image, std::filesystem::path mount_point)
      : image_(std::move(image)), mount_point_(std::move(mount_point)) {}
  ~Ext4Image() {
    if (mounted_) ::umount2(mount_point_.c_str(), 0);  // the loop device goes with it (autoclear)
  }
  Ext4Image(const Ext4Image&) = delete;
  Ext4Image& operator=(const Ext4Image&) = delete;

  // Makes and mounts the image: nullopt, or why it cannot be done here.
  [[nodiscard]] std::optional<std::string> Make() {
    std::filesystem::create_directories(mount_point_);
    if (Shell("truncate -s 48M " + image_.string() + " && mkfs.ext4 -q -F " + image_.string()) !=
        0) {
      return "mkfs.ext4 is missing or failed: an ext4 image needs e2fsprogs";
    }
    if (!Mount()) return "cannot loop-mount an ext4 image (not root, or no loop devices?)";
    std::ifstream mounts("/proc/mounts");
    for (std::string source, target, rest;
         mounts >> source >> target && std::getline(mounts, rest);) {
      if (target == mount_point_.string()) {
        trigger_ = std::filesystem::path("/sys/fs/ext4") /
                   std::filesystem::path(source).filename() / "trigger_fs_error";
      }
    }
    if (trigger_.empty() || !std::filesystem::exists(trigger_)) {
      return "no ext4 trigger_fs_error for " + mount_point_.string() + " in /sys/fs/ext4";
    }
    return std::nullopt;
  }

  // What a disk error does: ext4 aborts its journal and turns read-only ("emergency_ro").
  // False when the trigger cannot be written.
  [[nodiscard]] bool Fail() const {
    std::ofstream trigger(trigger_);
    return static_cast<bool>(trigger << "cir Ext4Image" << std::flush);
  }

  // The repair an operator does: unmount, check, mount again (read-write); nullopt, or what
  // failed.
  [[nodiscard]] std::optional<std::string> Repair() {
    if (::umount2(mount_point_.c_str(), 0) != 0) {
      return std::string("umount: ") + std::strerror(errno);
    }
    mounted_ = false;
    const int fsck = Shell("e2fsck -fy " + image_.string());
    if (fsck != 0 && fsck != 1) return "e2fsck exited " + std::to_string(fsck);  // 1: corrected
    if (!Mount()) return "cannot mount the image again";
    return std::nullopt;
  }

  [[nodiscard]] const std::filesystem::path& mount_point() const { return mount_point_; }

 private:
  static int Shell(const std::string& command) {
    const int status = std::system((command + " >/dev/null 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  bool Mount() {
    mounted_ = Shell("mount -o loop,errors=remount-ro " + image_.string() + " " +
                     mount_point_.string()) == 0;
    return mounted_;
  }

  std::filesystem::path image_;
  std::filesystem::path mount_point_;
  std::filesystem::path trigger_;  // /sys/fs/ext4/<loop device>/trigger_fs_error
  bool mounted_ = false;
};

}  // namespace cir::testing
