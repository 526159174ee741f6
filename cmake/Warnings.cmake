# Warnings we hold our own code to (not third-party headers).
function(dcos_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
endfunction()
