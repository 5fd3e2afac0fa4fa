defmodule CrmPubSub.Codec do
  @moduledoc """
  The JSON library the client speaks through.

  The `:codec` option of `CrmPubSub` names it: `:jiffy` (Erlang's jiffy,
  Debian's `erlang-jiffy`), or a module with Jason's two functions
  `encode!/1` and `decode/1` (`Jason`, Elixir 1.18's `JSON`, or your own).
  Without the option the first present of `Jason`, `JSON` and `:jiffy` is
  used: a Phoenix application already has Jason.
  """

  @type t :: :jiffy | module()

  @doc "The codec to use: the option when given, else the first one present."
  @spec resolve(t() | nil) :: t()
  def resolve(nil) do
    Enum.find([Jason, JSON, :jiffy], &usable?/1) ||
      raise ArgumentError,
            "crmpubsub: no JSON library found: add :jason to your deps, " <>
              "install erlang-jiffy, or pass codec: YourModule"
  end

  def resolve(codec) do
    if usable?(codec),
      do: codec,
      else:
        raise(
          ArgumentError,
          "crmpubsub: codec #{inspect(codec)} is not loaded or lacks encode!/1 and decode/1"
        )
  end

  # Loaded, and with the functions the client calls.
  defp usable?(:jiffy), do: Code.ensure_loaded?(:jiffy)

  defp usable?(mod) when is_atom(mod) do
    Code.ensure_loaded?(mod) and function_exported?(mod, :encode!, 1) and
      function_exported?(mod, :decode, 1)
  end

  defp usable?(_), do: false

  @doc """
  Encodes a term of maps, lists, strings, numbers and booleans; JSON null
  is `null/1` of the codec.
  """
  @spec encode!(t(), term()) :: iodata()
  def encode!(:jiffy, term), do: :jiffy.encode(term)
  def encode!(mod, term), do: mod.encode!(term)

  @doc "How the codec writes JSON null: jiffy writes nil as the string \"nil\"."
  @spec null(t()) :: nil | :null
  def null(:jiffy), do: :null
  def null(_mod), do: nil

  @doc "Decodes one JSON text into maps with string keys; null is nil."
  @spec decode(t(), binary()) :: {:ok, term()} | {:error, term()}
  def decode(:jiffy, text) do
    {:ok, :jiffy.decode(text, [:return_maps, {:null_term, nil}])}
  catch
    :error, reason -> {:error, reason}
    :throw, reason -> {:error, reason}
  end

  def decode(mod, text), do: mod.decode(text)
end
