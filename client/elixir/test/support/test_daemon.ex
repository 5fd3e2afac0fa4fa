defmodule CrmPubSub.TestDaemon do
  @moduledoc """
  The real crmpubsubd on a private socket, for tests (and for any test that
  needs a daemon: the interoperability suite uses it too).

      d = start_supervised!({CrmPubSub.TestDaemon, args: ["--max-outbuf", "4096"]})
      TestDaemon.socket(d)     # the socket path
      TestDaemon.stop(d)       # SIGTERM, waits (bounded) for the exit
      TestDaemon.start(d)      # again, on the same socket

  The binary is `$CRMPUBSUBD`, else `daemon/crmpubsubd` of this tree. Every
  wait is bounded; the daemon is killed when the owning process stops. Its
  output goes to `log/1`'s file, shown when a start fails.
  """

  use GenServer

  @ready_ms 5_000
  @tree Path.expand("../../../..", __DIR__)

  def start_link(opts), do: GenServer.start_link(__MODULE__, opts)

  @doc "The daemon binary the tests run."
  def binary, do: System.get_env("CRMPUBSUBD") || Path.join(@tree, "daemon/crmpubsubd")

  def socket(d), do: GenServer.call(d, :socket)
  def log(d), do: File.read!(GenServer.call(d, :log))
  def os_pid(d), do: GenServer.call(d, :os_pid)

  @doc """
  A new private temporary directory no other run can have: unique_integer
  is unique only within this VM, the OS pid tells VMs apart, and mkdir
  fails on an existing one. The caller removes it.
  """
  def fresh_dir(prefix) do
    dir =
      Path.join(
        System.tmp_dir!(),
        "#{prefix}-#{System.pid()}-#{System.unique_integer([:positive])}"
      )

    File.mkdir!(dir)
    File.chmod!(dir, 0o700)
    dir
  end

  @doc "Stops the daemon with a signal (default TERM); returns its exit status."
  def stop(d, signal \\ "TERM"), do: GenServer.call(d, {:stop, signal}, 3 * @ready_ms)

  @doc "Starts the daemon again on the same socket and waits until it accepts."
  def start(d), do: GenServer.call(d, :start, 2 * @ready_ms)

  @impl true
  def init(opts) do
    Process.flag(:trap_exit, true)
    dir = fresh_dir("crmpubsub-ex")

    state = %{
      dir: dir,
      sock: Path.join(dir, "crmpubsub.sock"),
      log: Path.join(dir, "daemon.log"),
      args: Keyword.get(opts, :args, []),
      port: nil,
      os_pid: nil
    }

    case spawn_daemon(state) do
      {:ok, state} -> {:ok, state}
      {:error, why, state} -> {:stop, why <> "\n" <> File.read!(state.log)}
    end
  end

  @impl true
  def handle_call(:socket, _from, s), do: {:reply, s.sock, s}
  def handle_call(:log, _from, s), do: {:reply, s.log, s}
  def handle_call(:os_pid, _from, s), do: {:reply, s.os_pid, s}

  def handle_call({:stop, signal}, _from, s) do
    {status, s} = kill(s, signal)
    {:reply, status, s}
  end

  def handle_call(:start, _from, %{port: nil} = s) do
    case spawn_daemon(s) do
      {:ok, s} -> {:reply, :ok, s}
      {:error, why, s} -> {:reply, {:error, why}, s}
    end
  end

  @impl true
  def handle_info({port, {:exit_status, _}}, %{port: port} = s),
    do: {:noreply, %{s | port: nil, os_pid: nil}}

  def handle_info(_other, s), do: {:noreply, s}

  @impl true
  def terminate(_reason, s) do
    kill(s, "KILL")
    File.rm_rf(s.dir)
  end

  # Through sh only to send the output to the log file; exec keeps the pid.
  defp spawn_daemon(s) do
    port =
      Port.open({:spawn_executable, "/bin/sh"}, [
        :exit_status,
        args: ["-c", ~s(exec "$0" "$@" >>"#{s.log}" 2>&1), binary(), "-s", s.sock | s.args]
      ])

    {:os_pid, os_pid} = Port.info(port, :os_pid)
    s = %{s | port: port, os_pid: os_pid}

    if wait_ready(s, System.monotonic_time(:millisecond) + @ready_ms),
      do: {:ok, s},
      else:
        {:error, "crmpubsubd #{binary()} did not accept on #{s.sock}", elem(kill(s, "KILL"), 1)}
  end

  # A bounded poll: the daemon accepts once it listens (or it died).
  defp wait_ready(s, deadline) do
    case :gen_tcp.connect({:local, s.sock}, 0, [:local], 200) do
      {:ok, sock} ->
        :gen_tcp.close(sock)
        true

      {:error, _} ->
        alive? = Port.info(s.port) != nil

        if alive? and System.monotonic_time(:millisecond) < deadline do
          Process.sleep(10)
          wait_ready(s, deadline)
        else
          false
        end
    end
  end

  defp kill(%{port: nil} = s, _signal), do: {nil, s}

  defp kill(%{port: port} = s, signal) do
    System.cmd("kill", ["-#{signal}", Integer.to_string(s.os_pid)], stderr_to_stdout: true)

    receive do
      {^port, {:exit_status, status}} -> {status, %{s | port: nil, os_pid: nil}}
    after
      @ready_ms ->
        System.cmd("kill", ["-KILL", Integer.to_string(s.os_pid)], stderr_to_stdout: true)
        {:timeout, %{s | port: nil, os_pid: nil}}
    end
  end
end
