// process_* metrics from /proc/self: prometheus-cpp has no process collector.
#include "process_collector.h"

#include <dirent.h>
#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace cir::cird {
namespace {

namespace pm = prometheus;

pm::MetricFamily Single(const std::string& name, const std::string& help, pm::MetricType type,
                        double value) {
  pm::MetricFamily family{name, help, type, {}};
  pm::ClientMetric metric;
  if (type == pm::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

// The fields of /proc/self/stat, numbered as in proc(5) (fields[1] is the pid). The command name
// (field 2) may hold spaces, so fields from 3 on are read after its closing ')'.
std::vector<std::string> StatFields() {
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::vector<std::string> fields{"", "", ""};
  const auto close = content.rfind(')');
  if (close == std::string::npos) return fields;
  std::istringstream rest(content.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}


}  // namespace

ProcessCollector::ProcessCollector() {
  const std::vector<std::string> fields = StatFields();
  double boot_time = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string line; std::getline(proc_stat, line);) {
    if (line.rfind("btime ", 0) == 0) boot_time = std::stod(line.substr(6));
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (fields.size() > 22) start_time_seconds_ = boot_time + std::stod(fields[22]) / ticks;
}

std::vector<pm::MetricFamily> ProcessCollector::Collect() const {
  const std::vector<std::string> fields = StatFields();
  std::vector<pm::MetricFamily> families;
  if (fields.size() <= 24) return families;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double cpu = (std::stod(fields[14]) + std::stod(fields[15])) / ticks;
  families.push_back(Single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                            pm::MetricType::Counter, cpu));
  families.push_back(Single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                            pm::MetricType::Gauge, std::stod(fields[23])));
  families.push_back(Single("process_resident_memory_bytes", "Resident memory size in bytes.",
                            pm::MetricType::Gauge, std::stod(fields[24]) * page));
  families.push_back(Single("process_start_time_seconds",
                            "Start time of the process since unix epoch in seconds.",
                            pm::MetricType::Gauge, start_time_seconds_));
  double fds = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++fds;
    }
    closedir(dir);
  }
  families.push_back(Single("process_open_fds", "Number of open file descriptors.",
                            pm::MetricType::Gauge, fds));
  std::ifstream limits("/proc/self/limits");
  for (std::string line; std::getline(limits, line);) {
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream words(line.substr(14));
      std::string soft;
      words >> soft;
      if (soft != "unlimited") {
        families.push_back(Single("process_max_fds",
                                  "Maximum number of open file descriptors.",
                                  pm::MetricType::Gauge, std::stod(soft)));
      }
    }
  }
  return families;
}

}  // namespace cir::cird
