defmodule CrmPubSub.FederationTest do
  # The daemon's federation resync, produced for real: a daemon federated
  # through a redis-server that comes up after this node subscribed.
  use CrmPubSub.Case, async: false

  @moduletag :redis
  @moduletag client: false

  setup do
    dir = CrmPubSub.TestDaemon.fresh_dir("crmpubsub-ex-redis")
    on_exit(fn -> File.rm_rf(dir) end)
    %{redis_sock: Path.join(dir, "redis.sock"), redis_dir: dir}
  end

  test "a federation link coming up is passed on as {:crm_resync, :federation}", ctx do
    # The daemon of this test is restarted federated, Redis not running yet.
    TestDaemon.stop(ctx.daemon)

    daemon =
      start_supervised!({TestDaemon, args: ["--redis", "unix://" <> ctx.redis_sock]},
        id: :federated
      )

    start_supervised!({CrmPubSub, socket: TestDaemon.socket(daemon)})
    :ok = CrmPubSub.subscribe(topic(1))

    redis = start_redis(ctx)

    try do
      assert_receive {:crm_resync, :federation}, 15_000
    after
      stop_redis(redis)
    end

    :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(100), [uuid(1)])
    assert next_crm() == {:crm, :interaction_created, %{interaction_uuid: uuid(100)}}
  end

  defp start_redis(ctx) do
    args =
      ~w(--port 0 --save "" --appendonly no --unixsocket #{ctx.redis_sock} --dir #{ctx.redis_dir})

    port =
      Port.open({:spawn_executable, System.find_executable("redis-server")}, [
        :exit_status,
        args: args
      ])

    {:os_pid, pid} = Port.info(port, :os_pid)
    {port, pid}
  end

  defp stop_redis({port, pid}) do
    System.cmd("kill", ["-TERM", Integer.to_string(pid)])

    receive do
      {^port, {:exit_status, _}} -> :ok
    after
      5_000 -> System.cmd("kill", ["-KILL", Integer.to_string(pid)])
    end
  end
end
