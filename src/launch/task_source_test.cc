#include "launch/task_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace migctl {
namespace {

using Words = std::vector<std::string>;

Result<std::vector<Task>> FromCommand(Words command, Words params = {}, unsigned repeat = 1,
                                      bool shell = false) {
  TaskSourceOptions options;
  options.command = std::move(command);
  options.params = std::move(params);
  options.repeat = repeat;
  options.shell = shell;
  std::istringstream no_stdin;
  return LoadTasks(options, no_stdin);
}

Result<std::vector<Task>> FromStdin(const std::string& text, Words params = {}, bool shell = false,
                                    TaskNeeds needs = {}) {
  TaskSourceOptions options;
  options.tasks_file = "-";
  options.params = std::move(params);
  options.shell = shell;
  options.needs = std::move(needs);
  std::istringstream in(text);
  return LoadTasks(options, in);
}

std::vector<Words> Argvs(const Result<std::vector<Task>>& tasks) {
  EXPECT_TRUE(tasks.ok()) << tasks.error().message;
  std::vector<Words> out;
  if (tasks.ok())
    for (const Task& t : *tasks) out.push_back(t.argv);
  return out;
}

/// The error message, after checking that it is kInvalidInput.
std::string InvalidMessage(const Result<std::vector<Task>>& tasks) {
  EXPECT_FALSE(tasks.ok());
  if (tasks.ok()) return "<no error>";
  EXPECT_EQ(tasks.error().code, ErrorCode::kInvalidInput) << tasks.error().message;
  return tasks.error().message;
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

TEST(LoadTasks, OneCommandIsOneTask) {
  auto tasks = FromCommand({"python", "train.py", "--lr", "1e-3"});
  ASSERT_TRUE(tasks.ok()) << tasks.error().message;
  ASSERT_EQ(tasks->size(), 1u);
  const Task& t = tasks->front();
  EXPECT_EQ(t.id, 1u);
  EXPECT_EQ(t.argv, (Words{"python", "train.py", "--lr", "1e-3"}));
  EXPECT_EQ(t.command, "python train.py --lr 1e-3");
  EXPECT_TRUE(t.params.empty());
}

TEST(LoadTasks, RepeatGivesConsecutiveIdsOfTheSameTask) {
  auto tasks = FromCommand({"./run.sh"}, {}, 3);
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 3u);
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ((*tasks)[i].id, i + 1);
    EXPECT_EQ((*tasks)[i].argv, Words{"./run.sh"});
  }
}

TEST(LoadTasks, ParamsSweepTheCartesianProductFirstParamSlowest) {
  auto tasks = FromCommand({"train", "--lr={lr}", "--bs", "{bs}"}, {"lr=1e-3,3e-4", "bs=32,64,128"});
  EXPECT_EQ(Argvs(tasks), (std::vector<Words>{{"train", "--lr=1e-3", "--bs", "32"},
                                              {"train", "--lr=1e-3", "--bs", "64"},
                                              {"train", "--lr=1e-3", "--bs", "128"},
                                              {"train", "--lr=3e-4", "--bs", "32"},
                                              {"train", "--lr=3e-4", "--bs", "64"},
                                              {"train", "--lr=3e-4", "--bs", "128"}}));
  EXPECT_EQ((*tasks)[4].params, (std::map<std::string, std::string>{{"bs", "64"}, {"lr", "3e-4"}}));
  EXPECT_EQ((*tasks)[4].id, 5u);
}

TEST(LoadTasks, ForEachCombinationEachRepeat) {
  auto tasks = FromCommand({"x", "{a}"}, {"a=1,2"}, 2);
  EXPECT_EQ(Argvs(tasks), (std::vector<Words>{{"x", "1"}, {"x", "1"}, {"x", "2"}, {"x", "2"}}));
}

TEST(LoadTasks, ParamValuesMayHoldEscapedCommasAndBackslashes) {
  auto tasks = FromCommand({"echo", "{v}"}, {R"(v=a\,b,c\\,d\x)"});
  EXPECT_EQ(Argvs(tasks), (std::vector<Words>{{"echo", "a,b"}, {"echo", "c\\"}, {"echo", "d\\x"}}));
}

TEST(LoadTasks, MetacharactersInValuesStayOneLiteralArgument) {
  auto tasks = FromCommand({"echo", "{v}"}, {"v=a b; rm -rf /,$(id)"});
  ASSERT_TRUE(tasks.ok());
  EXPECT_EQ(Argvs(tasks), (std::vector<Words>{{"echo", "a b; rm -rf /"}, {"echo", "$(id)"}}));
  EXPECT_EQ((*tasks)[0].command, "echo 'a b; rm -rf /'");
}

TEST(LoadTasks, OtherBracesAreLiteral) {
  auto tasks = FromCommand(
      {"run", R"({"a": {"b": 1}})", "{}", "{1x}", "{a-b}", "}{", "${lr}", "{{lr}}", "{lr}"}, {"lr=0.1"});
  EXPECT_EQ(Argvs(tasks), (std::vector<Words>{{"run", R"({"a": {"b": 1}})", "{}", "{1x}", "{a-b}", "}{",
                                               "${lr}", "{lr}", "0.1"}}));
}

TEST(LoadTasks, PlaceholderInsideJsonIsSubstituted) {
  auto tasks = FromCommand({"run", R"({"opt":{"lr":{lr}}})"}, {"lr=0.1"});
  EXPECT_EQ(Argvs(tasks), (std::vector<Words>{{"run", R"({"opt":{"lr":0.1}})"}}));
}

TEST(LoadTasks, UndefinedPlaceholderIsNamedWithTheDefinedParams) {
  std::string message = InvalidMessage(FromCommand({"t", "{lr}", "{bs}", "{epochs}"}, {"lr=1", "bs=2"}));
  EXPECT_CONTAINS(message, "{epochs} has no --param epochs");
  EXPECT_CONTAINS(message, "defined: lr, bs");
  EXPECT_CONTAINS(InvalidMessage(FromCommand({"awk", "{print}"})), "no --param given");
  EXPECT_CONTAINS(InvalidMessage(FromCommand({"awk", "{print}"})), "write {{print}} for a literal {print}");
}

TEST(LoadTasks, UnusedParamIsAnError) {
  std::string message = InvalidMessage(FromCommand({"t", "{lr}"}, {"lr=1", "lr2=1,2,3"}));
  EXPECT_CONTAINS(message, "--param lr2 is not used");
  EXPECT_CONTAINS(message, "3 identical times");
}

TEST(LoadTasks, MalformedParamsAreErrors) {
  struct Case {
    Words params;
    const char* expected;
  };
  for (const Case& c : {Case{{"lr"}, "write NAME=VALUE1,VALUE2"}, Case{{"lr="}, "--param lr has no values"},
                        Case{{"1lr=1"}, "the name must be letters"},
                        Case{{"l-r=1"}, "the name must be letters"}, Case{{"=1"}, "the name must be letters"},
                        Case{{"lr=1", "lr=2"}, "--param lr is given twice"}, Case{{"lr=1,,2"}, "empty value"},
                        Case{{"lr=1,"}, "empty value"}, Case{{"lr=1,2,1"}, "the value '1' twice"}}) {
    std::string message = InvalidMessage(FromCommand({"t", "{lr}"}, c.params));
    EXPECT_CONTAINS(message, c.expected);
  }
}

TEST(LoadTasks, NeedsExactlyOneSource) {
  EXPECT_EQ(InvalidMessage(FromCommand({})), "give a command after -- or --tasks FILE");
  TaskSourceOptions both;
  both.command = {"x"};
  both.tasks_file = "-";
  std::istringstream in("y\n");
  EXPECT_CONTAINS(InvalidMessage(LoadTasks(both, in)), "not both");
}

TEST(LoadTasks, RepeatZeroIsAnError) {
  EXPECT_CONTAINS(InvalidMessage(FromCommand({"x"}, {}, 0)), "--repeat");
}

TEST(LoadTasks, NeedsApplyToEveryTask) {
  TaskSourceOptions options;
  options.command = {"x"};
  options.repeat = 2;
  options.needs.memory_mib = 10240;
  std::istringstream in;
  auto tasks = LoadTasks(options, in);
  ASSERT_TRUE(tasks.ok());
  for (const Task& t : *tasks) EXPECT_EQ(t.needs.memory_mib, 10240u);
}

TEST(LoadTasks, ShellRunsTheJoinedWordsThroughShWithQuotedValues) {
  auto tasks = FromCommand({"echo {v} | wc -c", ">", "out"}, {"v=a b; rm -rf /,it's"}, 1, true);
  ASSERT_TRUE(tasks.ok()) << tasks.error().message;
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ((*tasks)[0].argv, (Words{"/bin/sh", "-c", "echo 'a b; rm -rf /' | wc -c > out"}));
  EXPECT_EQ((*tasks)[0].command, "echo 'a b; rm -rf /' | wc -c > out");
  EXPECT_EQ((*tasks)[1].command, R"(echo 'it'\''s' | wc -c > out)");
}

TEST(LoadTasks, ShellKeepsShellBraceSyntax) {
  auto tasks = FromCommand({"echo ${HOME} {n}"}, {"n=1"}, 1, true);
  ASSERT_TRUE(tasks.ok()) << tasks.error().message;
  EXPECT_EQ((*tasks)[0].command, "echo ${HOME} 1");
}

TEST(LoadTasks, FileLinesAreSplitAndCommentsAndBlanksSkipped) {
  auto tasks = FromStdin(
      "# a sweep\n\n  python a.py 'x y'  # first\r\n\t\n   # indented comment\npython b.py \"$HOME\"\n");
  ASSERT_TRUE(tasks.ok()) << tasks.error().message;
  EXPECT_EQ(Argvs(tasks), (std::vector<Words>{{"python", "a.py", "x y"}, {"python", "b.py", "$HOME"}}));
  EXPECT_EQ((*tasks)[0].command, "python a.py 'x y'");
  EXPECT_EQ((*tasks)[1].id, 2u);
}

TEST(LoadTasks, FileLinesTimesCombinationsInOrder) {
  auto tasks = FromStdin("a {p}\nb {p}\n", {"p=1,2"});
  EXPECT_EQ(Argvs(tasks), (std::vector<Words>{{"a", "1"}, {"a", "2"}, {"b", "1"}, {"b", "2"}}));
}

TEST(LoadTasks, EveryFileLineMustUseEveryParam) {
  std::string message = InvalidMessage(FromStdin("a {p}\n\nb\n", {"p=1,2"}));
  EXPECT_CONTAINS(message, "<stdin>:3: --param p is not used: this line has no {p}");
}

TEST(LoadTasks, UndefinedPlaceholderInAFileNamesTheLine) {
  EXPECT_CONTAINS(InvalidMessage(FromStdin("ok\nrun {x}\n")), "<stdin>:2: {x} has no --param x");
}

TEST(LoadTasks, LineOptionsOverrideTheDefaultNeeds) {
  TaskNeeds defaults{20480, "2g.20gb"};
  auto tasks = FromStdin("@memory=30G a\n@profile=3g.40gb @memory=512M b\n@profile=7g.80gb c\nd\n", {}, false,
                         defaults);
  ASSERT_TRUE(tasks.ok()) << tasks.error().message;
  EXPECT_EQ(Argvs(tasks), (std::vector<Words>{{"a"}, {"b"}, {"c"}, {"d"}}));
  EXPECT_EQ((*tasks)[0].needs, (TaskNeeds{30720, "2g.20gb"}));
  EXPECT_EQ((*tasks)[1].needs, (TaskNeeds{512, "3g.40gb"}));
  EXPECT_EQ((*tasks)[2].needs, (TaskNeeds{20480, "7g.80gb"}));
  EXPECT_EQ((*tasks)[3].needs, defaults);
}

TEST(LoadTasks, OptionsAfterTheCommandAreArguments) {
  auto tasks = FromStdin("a @memory=1G\n");
  EXPECT_EQ(Argvs(tasks), (std::vector<Words>{{"a", "@memory=1G"}}));
}

TEST(LoadTasks, BadLineOptionsAreErrorsWithTheLine) {
  struct Case {
    const char* text;
    const char* expected;
  };
  for (const Case& c : {Case{"x\n@memory=30G\n", "<stdin>:2: task options but no command"},
                        Case{"@memory=1G @memory=2G a\n", "<stdin>:1: @memory is given twice"},
                        Case{"@profile=a @profile=b a\n", "<stdin>:1: @profile is given twice"},
                        Case{"@memory=lots a\n", "<stdin>:1: @memory: bad memory size 'lots'"},
                        Case{"@profile= a\n", "<stdin>:1: @profile needs a profile name"},
                        Case{"@gpu=1 a\n", "<stdin>:1: unknown task option '@gpu=1'"},
                        Case{"@memory a\n", "<stdin>:1: unknown task option '@memory'"}}) {
    EXPECT_CONTAINS(InvalidMessage(FromStdin(c.text)), c.expected);
  }
}

TEST(LoadTasks, UnsplittableLineGivesFileLineAndColumn) {
  EXPECT_CONTAINS(InvalidMessage(FromStdin("ok\n\necho 'oops\n")), "<stdin>:3: column 6: this single quote");
}

TEST(LoadTasks, ShellFileLinesRunAsIsWithOptionsPeeled) {
  auto tasks = FromStdin("@memory=1G   echo {v} > out.txt; cat out.txt  \n", {"v=$x"}, true);
  ASSERT_TRUE(tasks.ok()) << tasks.error().message;
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].argv, (Words{"/bin/sh", "-c", "echo '$x' > out.txt; cat out.txt"}));
  EXPECT_EQ((*tasks)[0].needs.memory_mib, 1024u);
  EXPECT_CONTAINS(InvalidMessage(FromStdin("@memory=1G\n", {}, true)),
                  "<stdin>:1: task options but no command");
  EXPECT_CONTAINS(InvalidMessage(FromStdin("@memory=1G # x\n", {}, true)), "task options but no command");
  EXPECT_CONTAINS(InvalidMessage(FromStdin("@mem=1G x\n", {}, true)), "unknown task option '@mem=1G'");
}

TEST(LoadTasks, EmptyFileIsAnError) {
  EXPECT_CONTAINS(InvalidMessage(FromStdin("")), "<stdin>: no tasks");
  EXPECT_CONTAINS(InvalidMessage(FromStdin("# only\n\n   \n")), "<stdin>: no tasks");
}

TEST(LoadTasks, UnreadableStdinIsIo) {
  TaskSourceOptions options;
  options.tasks_file = "-";
  std::istringstream in("a\n");
  in.setstate(std::ios::badbit);
  auto tasks = LoadTasks(options, in);
  ASSERT_FALSE(tasks.ok());
  EXPECT_EQ(tasks.error().code, ErrorCode::kIo);
  EXPECT_CONTAINS(tasks.error().message, "stdin");
}

TEST(LoadTasks, ReadsANamedFileAndNamesItInErrors) {
  char dir[] = "/tmp/task_source_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/tasks.txt";
  std::ofstream(path) << "a\nb 'c\n";
  TaskSourceOptions options;
  options.tasks_file = path;
  std::istringstream no_stdin;
  EXPECT_CONTAINS(InvalidMessage(LoadTasks(options, no_stdin)), path + ":2: column 3");
  std::ofstream(path) << "a\nb c\n";
  EXPECT_EQ(Argvs(LoadTasks(options, no_stdin)), (std::vector<Words>{{"a"}, {"b", "c"}}));
  std::remove(path.c_str());
  auto missing = LoadTasks(options, no_stdin);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_CONTAINS(missing.error().message, path);
  rmdir(dir);
}

TEST(LoadTasks, SweepExplosionIsRefusedBeforeBuilding) {
  std::string values = "v=0";
  for (int i = 1; i < 1000; ++i) values += "," + std::to_string(i);
  std::string message = InvalidMessage(FromCommand(
      {"{a}", "{b}", "{c}"}, {"a" + values.substr(1), "b" + values.substr(1), "c" + values.substr(1)}));
  EXPECT_CONTAINS(message, "more than 1000000 tasks");
  EXPECT_CONTAINS(InvalidMessage(FromCommand({"x"}, {}, 1'000'001)), "more than 1000000 tasks");
  auto at_limit = FromCommand({"x", "{a}"}, {"a" + values.substr(1)}, 1000);
  ASSERT_TRUE(at_limit.ok()) << at_limit.error().message;
  EXPECT_EQ(at_limit->size(), 1'000'000u);
  EXPECT_EQ(at_limit->back().id, 1'000'000u);
}

/// An endless stream of zero bytes, as `--tasks - < /dev/zero` gives.
class Zeros : public std::streambuf {
 protected:
  int_type underflow() override {
    setg(buffer_, buffer_, buffer_ + sizeof buffer_);
    return 0;
  }

 private:
  char buffer_[4096] = {};
};

// Regression: `--tasks -` with stdin from /dev/zero aborted with std::bad_alloc.
TEST(LoadTasks, RegressionEndlessStdinIsRefusedAtTheCap) {
  Zeros zeros;
  std::istream in(&zeros);
  TaskSourceOptions options;
  options.tasks_file = "-";
  Result<std::vector<Task>> tasks = LoadTasks(options, in);
  ASSERT_FALSE(tasks.ok());
  EXPECT_EQ(tasks.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(tasks.error().message.find("stdin holds more than 64 MiB"), std::string::npos)
      << tasks.error().message;
}

// Regression: `--tasks /dev/zero` aborted with std::bad_alloc.
TEST(LoadTasks, RegressionEndlessTaskFileIsRefused) {
  TaskSourceOptions options;
  options.tasks_file = "/dev/zero";
  std::istringstream no_stdin;
  Result<std::vector<Task>> tasks = LoadTasks(options, no_stdin);
  ASSERT_FALSE(tasks.ok());
  EXPECT_EQ(tasks.error().code, ErrorCode::kInvalidInput) << tasks.error().message;
  EXPECT_TRUE(tasks.error().message.starts_with("--tasks: ")) << tasks.error().message;
}

}  // namespace
}  // namespace migctl
