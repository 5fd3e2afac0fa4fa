defmodule CrmPubSub.SocketPath do
  @moduledoc """
  Where the daemon's socket is: the rule every crmpubsub program follows
  (docs/protocol.md, "Connecting"), first match wins:

    1. the explicit path (the `:socket` option);
    2. `$CRMPUBSUB_SOCKET`;
    3. `/run/crmpubsub/crmpubsub.sock`, when a socket exists there;
    4. `$XDG_RUNTIME_DIR/crmpubsub.sock` (an absolute `$XDG_RUNTIME_DIR`);
    5. `/tmp/crmpubsub-<uid>/crmpubsub.sock`.

  The client resolves it again before every connection attempt, so a daemon
  started later, or on another path, is found.
  """

  @system_socket "/run/crmpubsub/crmpubsub.sock"

  @doc """
  The socket path for an explicit path or nil. `env` and `system_socket`
  stand for the process environment and the system path (tests pass their
  own).
  """
  @spec resolve(String.t() | nil, map(), String.t()) :: String.t()
  def resolve(explicit, env \\ System.get_env(), system_socket \\ @system_socket) do
    cond do
      is_binary(explicit) and explicit != "" ->
        explicit

      present?(env["CRMPUBSUB_SOCKET"]) ->
        env["CRMPUBSUB_SOCKET"]

      socket?(system_socket) ->
        system_socket

      String.starts_with?(env["XDG_RUNTIME_DIR"] || "", "/") ->
        Path.join(env["XDG_RUNTIME_DIR"], "crmpubsub.sock")

      true ->
        "/tmp/crmpubsub-#{uid()}/crmpubsub.sock"
    end
  end

  # Set and not empty.
  defp present?(value), do: is_binary(value) and value != ""

  # File.stat reports a socket as :other (so would a FIFO, never found there).
  defp socket?(path), do: match?({:ok, %File.Stat{type: :other}}, File.stat(path))

  @doc "The real uid of this OS process, as getuid(2) gives it (Linux /proc)."
  @spec uid() :: non_neg_integer()
  def uid do
    with {:ok, status} <- File.read("/proc/self/status"),
         [_, real | _] <- Regex.run(~r/^Uid:\s+(\d+)/m, status) do
      String.to_integer(real)
    else
      _ -> File.stat!("/proc/self").uid
    end
  end
end
