[
  inputs: [
    "{mix,.formatter}.exs",
    "{lib,test}/**/*.{ex,exs}",
    "../../tests/bench/elixir_cost.exs",
    "../../tests/interop/*.exs"
  ]
]
