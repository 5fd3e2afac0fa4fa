defmodule CrmPubSub.ExampleTest do
  # docs/client.md's Elixir example, as a user meets it: the client
  # installed by `make install-elixir`, an application depending on the
  # installed path, the example copied from the page and run with
  # `mix run`, its output compared with the output the page shows.
  use CrmPubSub.Case, async: false

  @moduletag client: false
  @moduletag timeout: 300_000

  @tree Path.expand("../../..", __DIR__)

  test "the example of docs/client.md runs as it is and prints what the page shows", %{
    socket: socket
  } do
    {example, expected} = example_from_docs()
    dir = CrmPubSub.TestDaemon.fresh_dir("crmpubsub-ex-app")
    on_exit(fn -> File.rm_rf(dir) end)

    stage = Path.join(dir, "stage")

    {out, status} =
      run("make", ["-s", "-C", @tree, "install-elixir", "DESTDIR=#{stage}", "PREFIX=/usr"], @tree)

    assert status == 0, out
    installed = Path.join(stage, "usr/share/crmpubsub/elixir")
    assert File.exists?(Path.join(installed, "lib/crm_pub_sub/connection.ex"))

    app = Path.join(dir, "feed_app")
    File.mkdir_p!(app)

    File.write!(Path.join(app, "mix.exs"), """
    defmodule FeedApp.MixProject do
      use Mix.Project
      def project, do: [app: :feed_app, version: "0.1.0", deps: [{:crmpubsub, path: #{inspect(installed)}}]]
    end
    """)

    File.write!(Path.join(app, "feed.exs"), example)

    {out, status} =
      run("mix", ["run", "feed.exs"], app, [{"CRMPUBSUB_SOCKET", socket}, {"MIX_ENV", "dev"}])

    assert status == 0, out
    assert String.ends_with?(out, expected), "expected output:\n#{expected}\ngot:\n#{out}"

    {out, status} =
      run(
        "make",
        ["-s", "-C", @tree, "uninstall-elixir", "DESTDIR=#{stage}", "PREFIX=/usr"],
        @tree
      )

    assert status == 0, out
    # What stays is the list of directories `make install` created, which
    # the top-level `make uninstall` takes away with them.
    left = Path.wildcard(Path.join(stage, "**"), match_dot: true) |> Enum.reject(&File.dir?/1)
    assert left == [Path.join(stage, "usr/share/crmpubsub/installed-dirs")]
  end

  # The ```elixir block of the "## Elixir" section that starts with
  # "# feed.exs", and the plain block after it (the output).
  defp example_from_docs do
    text = File.read!(Path.join(@tree, "docs/client.md"))
    [_, section] = String.split(text, "\n## Elixir\n", parts: 2)
    [_, rest] = String.split(section, "```elixir\n# feed.exs", parts: 2)
    [code, rest] = String.split(rest, "\n```\n", parts: 2)
    [_, output | _] = String.split(rest, "```\n", parts: 3)
    {"# feed.exs" <> code <> "\n", output}
  end

  # Outside make's and mix's own environment: a user's shell.
  defp run(cmd, args, dir, env \\ []) do
    clean =
      for var <- ~w(MAKEFLAGS MAKELEVEL MFLAGS MIX_EXS MIX_BUILD_PATH MIX_BUILD_ROOT),
          do: {var, nil}

    System.cmd(cmd, args, cd: dir, env: clean ++ env, stderr_to_stdout: true)
  end
end
