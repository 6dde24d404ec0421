#include <cstdio>

int main() {
  std::puts("modsync");
  return 0;
}
