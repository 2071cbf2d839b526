#include "slurm/array_spool.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/temp_dir.h"

namespace migctl::slurm {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::app) << text;
}

ArraySpec Sample() {
  ArraySpec spec;
  Task a;
  a.id = 1;
  a.argv = {"python", "train.py", "--lr", "a b; rm -rf /"};
  a.command = "python train.py --lr 'a b; rm -rf /'";
  a.params = {{"lr", "a b; rm -rf /"}};
  Task b;
  b.id = 7;
  b.argv = {"/bin/sh", "-c", "echo $HOME"};
  b.command = "echo $HOME";
  b.needs.memory_mib = 20480;
  b.needs.profile = "3g.40gb";
  spec.tasks = {a, b};
  spec.gres_type = "3g.40gb";
  spec.retries = 2;
  spec.timeout = 1500ms;
  spec.grace = 250ms;
  spec.logs_dir = "/shared/run/logs";
  spec.workdir = "/shared/run";
  return spec;
}

TaskResult Attempt(unsigned task, bool final, TaskStatus status) {
  TaskResult r;
  r.task = task;
  r.final = final;
  r.command = "cmd " + std::to_string(task);
  r.status = status;
  r.node = "n1";
  return r;
}

std::string Line(const TaskResult& r) { return ResultToJson(r).dump() + "\n"; }

TEST(ArraySpec, RoundTripsEveryField) {
  const ArraySpec spec = Sample();
  const Json json = SpecToJson(spec);
  EXPECT_EQ(json["v"], kArraySpecVersion);
  Result<ArraySpec> back = SpecFromJson(Json::parse(json.dump()));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, spec);
}

TEST(ArraySpec, RefusesAnUnknownVersionNamingTheKnownOne) {
  Json json = SpecToJson(Sample());
  json["v"] = 99;
  Result<ArraySpec> back = SpecFromJson(json);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().code, ErrorCode::kCorrupt);
  EXPECT_CONTAINS(back.error().message, "99");
  EXPECT_CONTAINS(back.error().message, "version 1");
}

TEST(ArraySpec, RefusesDamagedTasks) {
  Json twice = SpecToJson(Sample());
  twice["tasks"][1]["id"] = 1;
  EXPECT_CONTAINS(SpecFromJson(twice).error().message, "task 1 twice");
  Json zero = SpecToJson(Sample());
  zero["tasks"][0]["id"] = 0;
  EXPECT_FALSE(SpecFromJson(zero).ok());
  Json no_argv = SpecToJson(Sample());
  no_argv["tasks"][0]["argv"] = Json::array();
  EXPECT_CONTAINS(SpecFromJson(no_argv).error().message, "empty argv");
  Json bad_param = SpecToJson(Sample());
  bad_param["tasks"][0]["params"]["lr"] = 3;
  EXPECT_FALSE(SpecFromJson(bad_param).ok());
}

TEST(Spool, IsPrivateAndHoldsTheSpec) {
  TempDir tmp;
  Result<std::string> spool = CreateSpool(tmp.File("run"));
  ASSERT_TRUE(spool.ok()) << spool.error().message;
  for (const std::string& dir : {*spool, *spool + "/results", *spool + "/logs", *spool + "/slurm"}) {
    struct stat st {};
    ASSERT_EQ(::stat(dir.c_str(), &st), 0) << dir;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << dir;
  }
  ASSERT_TRUE(WriteSpec(*spool, Sample()).ok());
  Result<ArraySpec> read = ReadSpec(*spool);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, Sample());
  EXPECT_EQ(ResultsPath(*spool, 7), *spool + "/results/task-7.jsonl");
  EXPECT_EQ(SlurmOutputPattern(*spool), *spool + "/slurm/%a.out");
}

TEST(Spool, ADirectoryWithoutSpecIsNotASpool) {
  TempDir tmp;
  fs::create_directory(tmp.File("empty"));
  Result<ArraySpec> read = ReadSpec(tmp.File("empty"));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kNotFound);
  EXPECT_CONTAINS(read.error().message, "not the spool of a `migctl run --slurm`");
}

TEST(Spool, RefusesAGroupWritableParent) {
  TempDir tmp;
  fs::create_directory(tmp.File("open"));
  ::chmod(tmp.File("open").c_str(), 0777);
  Result<std::string> spool = CreateSpool(tmp.File("open/run"));
  ASSERT_FALSE(spool.ok());
  EXPECT_CONTAINS(spool.error().message, "--spool");
}

TEST(ResultCollector, ReadsCompleteLinesOnceEach) {
  TempDir tmp;
  Result<std::string> spool = CreateSpool(tmp.File("run"));
  ASSERT_TRUE(spool.ok());
  ResultCollector collector(*spool);
  Result<NewResults> none = collector.Collect();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->results.empty());

  Append(ResultsPath(*spool, 2), Line(Attempt(2, false, TaskStatus::kFailed)));
  const std::string second = Line(Attempt(2, true, TaskStatus::kOk));
  Append(ResultsPath(*spool, 2), second.substr(0, 20));  // an element mid-write
  Append(ResultsPath(*spool, 10), Line(Attempt(10, true, TaskStatus::kOk)));
  Result<NewResults> first = collector.Collect();
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->results.size(), 2u);
  EXPECT_EQ(first->results[0].task, 2u);
  EXPECT_FALSE(first->results[0].final);
  EXPECT_EQ(first->results[0].node, "n1");
  EXPECT_EQ(first->results[1].task, 10u);

  Append(ResultsPath(*spool, 2), second.substr(20));
  Result<NewResults> then = collector.Collect();
  ASSERT_TRUE(then.ok());
  ASSERT_EQ(then->results.size(), 1u);
  EXPECT_EQ(then->results[0].task, 2u);
  EXPECT_TRUE(then->results[0].final);
  EXPECT_TRUE(collector.Collect()->results.empty());
}

TEST(ResultCollector, SaysWhichLineIsNotAResultAndGoesOn) {
  TempDir tmp;
  Result<std::string> spool = CreateSpool(tmp.File("run"));
  ASSERT_TRUE(spool.ok());
  Append(ResultsPath(*spool, 3), "garbage\n" + Line(Attempt(3, true, TaskStatus::kOk)));
  Append(*spool + "/results/notes.txt", "not a journal\n");
  ResultCollector collector(*spool);
  Result<NewResults> found = collector.Collect();
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->problems.size(), 1u);
  EXPECT_CONTAINS(found->problems[0], "task-3.jsonl:1:");
  ASSERT_EQ(found->results.size(), 1u);
  EXPECT_EQ(found->results[0].task, 3u);
}

TEST(LastOutputLine, IsTheLastNonBlankLineEscaped) {
  TempDir tmp;
  Result<std::string> spool = CreateSpool(tmp.File("run"));
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ(LastOutputLine(*spool, 4), "");
  Append(SlurmOutputPath(*spool, 4), "starting\nmigctl: cannot start \x1b[31mx\n\n");
  EXPECT_EQ(LastOutputLine(*spool, 4), "migctl: cannot start \\x1b[31mx");
}

}  // namespace
}  // namespace migctl::slurm
