# Every test talks to a real crmpubsubd (CrmPubSub.TestDaemon) through the
# node's one CrmPubSub process, so modules run one at a time. The
# federation test needs redis-server: without it the test is left out on a
# developer's box and fails under CI (CI=true), where every tool is there.
exclude =
  if System.find_executable("redis-server") || System.get_env("CI") == "true",
    do: [],
    else: [:redis]

ExUnit.start(
  formatters: [ExUnit.CLIFormatter, CrmPubSub.CountsFormatter],
  capture_log: true,
  assert_receive_timeout: 5_000,
  exclude: exclude
)
