defmodule CrmPubSub.SocketPathTest do
  # The resolution order of docs/protocol.md "Connecting", rule by rule.
  use ExUnit.Case, async: true

  alias CrmPubSub.SocketPath

  @uid SocketPath.uid()

  setup do
    dir = CrmPubSub.TestDaemon.fresh_dir("crmpubsub-ex-path")
    on_exit(fn -> File.rm_rf(dir) end)
    %{system: Path.join(dir, "crmpubsub.sock")}
  end

  test "an explicit path wins", %{system: system} do
    env = %{"CRMPUBSUB_SOCKET" => "/env.sock", "XDG_RUNTIME_DIR" => "/run/user/1"}
    assert SocketPath.resolve("/explicit.sock", env, system) == "/explicit.sock"
  end

  test "then $CRMPUBSUB_SOCKET (an empty one does not count)", %{system: system} do
    assert SocketPath.resolve(nil, %{"CRMPUBSUB_SOCKET" => "/env.sock"}, system) == "/env.sock"
    assert SocketPath.resolve("", %{"CRMPUBSUB_SOCKET" => "/env.sock"}, system) == "/env.sock"

    assert SocketPath.resolve(nil, %{"CRMPUBSUB_SOCKET" => ""}, system) ==
             "/tmp/crmpubsub-#{@uid}/crmpubsub.sock"
  end

  test "then the system socket, only when a socket exists there", %{system: system} do
    env = %{"XDG_RUNTIME_DIR" => "/run/user/1"}
    assert SocketPath.resolve(nil, env, system) == "/run/user/1/crmpubsub.sock"
    File.write!(system, "")
    assert SocketPath.resolve(nil, env, system) == "/run/user/1/crmpubsub.sock"
    File.rm!(system)
    {:ok, listen} = :gen_tcp.listen(0, [:local, ifaddr: {:local, system}])
    assert SocketPath.resolve(nil, env, system) == system
    :gen_tcp.close(listen)
  end

  test "then $XDG_RUNTIME_DIR when absolute, else /tmp/crmpubsub-<uid>", %{system: system} do
    assert SocketPath.resolve(nil, %{"XDG_RUNTIME_DIR" => "relative"}, system) ==
             "/tmp/crmpubsub-#{@uid}/crmpubsub.sock"

    assert SocketPath.resolve(nil, %{}, system) == "/tmp/crmpubsub-#{@uid}/crmpubsub.sock"
  end

  test "the uid is the process's real uid" do
    {id, 0} = System.cmd("id", ["-ru"])
    assert Integer.to_string(@uid) == String.trim(id)
  end
end
