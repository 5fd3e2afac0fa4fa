defmodule CrmPubSub.MixProject do
  use Mix.Project

  # A Mix project with no Hex dependencies: it builds and tests offline. JSON
  # goes through the application's Jason, Elixir's own JSON (1.18+) or
  # Erlang's jiffy (Debian's erlang-jiffy), whichever is there (see
  # CrmPubSub.Codec); jiffy is an OTP application found on the code path.
  def project do
    [
      app: :crmpubsub,
      version: "1.0.0",
      elixir: "~> 1.14",
      elixirc_paths: elixirc_paths(Mix.env()),
      start_permanent: Mix.env() == :prod,
      deps: [],
      description: "Elixir client of crmpubsubd, with PhoenixKitCRM.PubSub's API"
    ]
  end

  def application do
    [extra_applications: [:logger] ++ jiffy()]
  end

  # jiffy is started with the client only where it is installed, so an
  # application that brings Jason needs nothing else.
  defp jiffy do
    case :code.lib_dir(:jiffy) do
      {:error, _} -> []
      _ -> [:jiffy]
    end
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]
end
